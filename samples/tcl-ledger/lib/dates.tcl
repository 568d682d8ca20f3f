# dates.tcl --
#
#   Date helpers.  The ledger only deals in calendar days written as
#   ISO 8601 strings (YYYY-MM-DD), which sort correctly as plain text.
#   All clock arithmetic is done in UTC so that results never depend
#   on the local timezone.

namespace eval ::ledger::dates {
    namespace export check addDays compare inRange
}

# ledger::dates::check --
#
#   Validate a date string.  Rejects impossible dates such as
#   2023-02-30 by formatting the parsed value again and comparing.
#
# Arguments:
#   date    the date, e.g. 2024-03-31
#
# Results:
#   Returns the date unchanged, or raises an error.

proc ::ledger::dates::check {date} {
    if {![regexp {^[0-9]{4}-[0-9]{2}-[0-9]{2}$} $date]} {
        return -code error -errorcode {LEDGER DATE} \
            "invalid date \"$date\": expected YYYY-MM-DD"
    }
    if {[catch {clock scan $date -format %Y-%m-%d -gmt 1} seconds]} {
        return -code error -errorcode {LEDGER DATE} "invalid date \"$date\""
    }
    if {[clock format $seconds -format %Y-%m-%d -gmt 1] ne $date} {
        return -code error -errorcode {LEDGER DATE} \
            "invalid date \"$date\": no such day"
    }
    return $date
}

# ledger::dates::ToSeconds --
#
#   Convert a checked date to seconds since the epoch at midnight UTC.
#
# Arguments:
#   date    the date
#
# Results:
#   Returns an integer number of seconds.

proc ::ledger::dates::ToSeconds {date} {
    return [clock scan [check $date] -format %Y-%m-%d -gmt 1]
}

# ledger::dates::FromSeconds --
#
#   Convert seconds since the epoch back to a date string.
#
# Arguments:
#   seconds     integer number of seconds
#
# Results:
#   Returns the date in YYYY-MM-DD form.

proc ::ledger::dates::FromSeconds {seconds} {
    return [clock format $seconds -format %Y-%m-%d -gmt 1]
}

# ledger::dates::addDays --
#
#   Move a date forwards or backwards by a number of days.
#
# Arguments:
#   date    the starting date
#   days    number of days, may be negative
#
# Results:
#   Returns the new date.

proc ::ledger::dates::addDays {date days} {
    set days [::ledger::util::checkInteger days $days]
    return [FromSeconds [clock add [ToSeconds $date] $days days -gmt 1]]
}

# ledger::dates::compare --
#
#   Compare two dates, suitable for lsort -command.
#
# Arguments:
#   a       first date
#   b       second date
#
# Results:
#   Returns -1, 0 or 1.

proc ::ledger::dates::compare {a b} {
    return [string compare [check $a] [check $b]]
}

# ledger::dates::inRange --
#
#   Test whether a date falls within an inclusive range.  An empty
#   bound means the range is open on that side.
#
# Arguments:
#   date    the date to test
#   from    first day of the range, or ""
#   to      last day of the range, or ""
#
# Results:
#   Returns 1 if the date is in the range, 0 otherwise.

proc ::ledger::dates::inRange {date from to} {
    if {$from ne "" && [string compare $date $from] < 0} {
        return 0
    }
    if {$to ne "" && [string compare $date $to] > 0} {
        return 0
    }
    return 1
}
