# money.tcl --
#
#   Amounts are stored as integer numbers of cents so that sums are
#   exact.  This file converts between the text form used in files and
#   on the command line ("-12.50") and the integer form used inside.

namespace eval ::ledger::money {
    namespace export parse format sum
}

# ledger::money::parse --
#
#   Convert a decimal amount to cents.  Accepts an optional sign, an
#   optional thousands separator and at most two decimals.
#
# Arguments:
#   text    the amount, e.g. "1,234.5" or "-3"
#
# Results:
#   Returns the amount in cents, e.g. 123450 or -300.

proc ::ledger::money::parse {text} {
    set clean [string map {, {}} [string trim $text]]
    if {![regexp {^([-+]?)([0-9]+)(?:\.([0-9]{1,2}))?$} $clean -> sign units decimals]} {
        return -code error -errorcode {LEDGER AMOUNT} "invalid amount \"$text\""
    }
    set units [scan $units %d]
    set cents [scan [string range "${decimals}00" 0 1] %d]
    set value [expr {$units * 100 + $cents}]
    if {$sign eq "-"} {
        set value [expr {-$value}]
    }
    return $value
}

# ledger::money::format --
#
#   Convert cents back to a decimal string with exactly two decimals.
#
# Arguments:
#   cents       integer amount
#   args        optional "-grouping 1" to insert thousands separators
#
# Results:
#   Returns the formatted amount, e.g. "-3.00" or "1,234.50".

proc ::ledger::money::format {cents args} {
    set opts [::ledger::util::options {-grouping 0} $args]
    set cents [::ledger::util::checkInteger amount $cents]
    set sign [expr {$cents < 0 ? "-" : ""}]
    set cents [expr {abs($cents)}]
    set units [expr {$cents / 100}]
    set rest [expr {$cents % 100}]
    if {[dict get $opts -grouping]} {
        set units [Group $units]
    }
    return [::format %s%s.%02d $sign $units $rest]
}

# ledger::money::Group --
#
#   Insert a comma between every group of three digits.
#
# Arguments:
#   digits  a non-negative integer
#
# Results:
#   Returns the grouped digits as a string.

proc ::ledger::money::Group {digits} {
    set out ""
    set count 0
    foreach digit [lreverse [split $digits ""]] {
        if {$count > 0 && $count % 3 == 0} {
            set out ",$out"
        }
        set out $digit$out
        incr count
    }
    return $out
}

# ledger::money::sum --
#
#   Add up a list of amounts in cents.
#
# Arguments:
#   amounts     list of integers
#
# Results:
#   Returns the total; an empty list sums to zero.

proc ::ledger::money::sum {amounts} {
    set total 0
    foreach amount $amounts {
        incr total $amount
    }
    return $total
}
