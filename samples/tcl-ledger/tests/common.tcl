# common.tcl --
#
#   Shared setup for the test files: loads tcltest and the ledger
#   package and defines fixtures that build a small book.

package require tcltest 2.5
namespace import -force ::tcltest::*

lappend auto_path [file dirname [file dirname [file normalize [info script]]]]
package require ledger

namespace eval ::ledger::test {
    # Files written by the tests go to a private directory that
    # ledger::test::finish removes again.
    variable scratch [file join [expr {[info exists ::env(TMPDIR)] ? $::env(TMPDIR) : "/tmp"}] \
        tcl-ledger-tests-[pid]]
    file mkdir $scratch
    configure -tmpdir $scratch
}

# ledger::test::chart --
#
#   Start from an empty book with a small chart of accounts.
#
# Arguments:
#   none
#
# Results:
#   Returns the list of account names created.

proc ::ledger::test::chart {} {
    ::ledger::reset
    set created {}
    foreach {name type} {
        assets:bank:checking    asset
        assets:cash             asset
        liabilities:card        liability
        equity:capital          equity
        income:sales            income
        income:interest         income
        expenses:rent           expense
        expenses:office         expense
    } {
        lappend created [::ledger::accounts::create $name $type]
    }
    return $created
}

# ledger::test::book --
#
#   The chart of accounts plus a quarter of typical transactions.
#
# Arguments:
#   none
#
# Results:
#   Returns the list of transaction ids.

proc ::ledger::test::book {} {
    chart
    set ids {}
    foreach {date description postings} {
        2024-01-02 "Owner investment" {{assets:bank:checking 500000} {equity:capital {}}}
        2024-01-05 "January rent"     {{expenses:rent 120000} {assets:bank:checking {}}}
        2024-01-20 "Invoice 1001"     {{assets:bank:checking 250000} {income:sales {}}}
        2024-02-03 "Printer paper"    {{expenses:office 4599} {liabilities:card {}}}
        2024-02-05 "February rent"    {{expenses:rent 120000} {assets:bank:checking {}}}
        2024-02-28 "Cash sale"        {{assets:cash 8000} {income:sales {}}}
        2024-03-05 "March rent"       {{expenses:rent 120000} {assets:bank:checking {}}}
        2024-03-31 "Bank interest"    {{assets:bank:checking 312} {income:interest {}}}
    } {
        lappend ids [::ledger::journal::post $date $description $postings]
    }
    return $ids
}

# ledger::test::text --
#
#   Strip the indentation of a braced block of lines, so that file
#   contents can be written inline in a test body.
#
# Arguments:
#   block   the indented text
#
# Results:
#   Returns the text with each line trimmed and a final newline.

proc ::ledger::test::text {block} {
    set lines {}
    foreach line [split [string trim $block] \n] {
        lappend lines [string trim $line]
    }
    return "[join $lines \n]\n"
}

# ledger::test::errorCode --
#
#   Run a script and return the error code it raised, or "ok".
#
# Arguments:
#   script  the script, run in the caller's scope
#
# Results:
#   Returns the errorcode list.

proc ::ledger::test::errorCode {script} {
    if {[catch {uplevel 1 $script} message options]} {
        return [dict get $options -errorcode]
    }
    return ok
}

# ledger::test::finish --
#
#   Report the results of a test file and remove its scratch files.
#
# Arguments:
#   none
#
# Results:
#   Returns an empty string.

proc ::ledger::test::finish {} {
    variable scratch
    cleanupTests
    file delete -force $scratch
    return
}
