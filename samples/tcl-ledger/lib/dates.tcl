# dates.tcl --
#
#   Date helpers.  The ledger only deals in calendar days written as
#   ISO 8601 strings (YYYY-MM-DD), which sort correctly as plain text.
#   All clock arithmetic is done in UTC so that results never depend
#   on the local timezone.

namespace eval ::ledger::dates {
    namespace export check today addDays daysBetween compare inRange \
        monthOf endOfMonth startOfMonth weekday
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

# ledger::dates::today --
#
#   The current date in UTC.
#
# Arguments:
#   none
#
# Results:
#   Returns today's date.

proc ::ledger::dates::today {} {
    return [FromSeconds [clock seconds]]
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

# ledger::dates::addMonths --
#
#   Move a date by whole months.  Days past the end of the target month
#   are clamped to its last day, so 2024-01-31 plus one month is
#   2024-02-29.
#
# Arguments:
#   date    the starting date
#   months  number of months, may be negative
#
# Results:
#   Returns the new date.

proc ::ledger::dates::addMonths {date months} {
    set months [::ledger::util::checkInteger months $months]
    return [FromSeconds [clock add [ToSeconds $date] $months months -gmt 1]]
}

# ledger::dates::daysBetween --
#
#   Count the days from one date to another.
#
# Arguments:
#   from    the earlier date
#   to      the later date
#
# Results:
#   Returns the number of days, negative if "to" is before "from".

proc ::ledger::dates::daysBetween {from to} {
    return [expr {([ToSeconds $to] - [ToSeconds $from]) / 86400}]
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

# ledger::dates::monthOf --
#
#   The month a date belongs to, used to group report lines.
#
# Arguments:
#   date    the date
#
# Results:
#   Returns the month as YYYY-MM.

proc ::ledger::dates::monthOf {date} {
    return [string range [check $date] 0 6]
}

# ledger::dates::startOfMonth --
#
#   The first day of the month containing a date.
#
# Arguments:
#   date    the date
#
# Results:
#   Returns the date of the first day.

proc ::ledger::dates::startOfMonth {date} {
    return "[monthOf $date]-01"
}

# ledger::dates::endOfMonth --
#
#   The last day of the month containing a date.
#
# Arguments:
#   date    the date
#
# Results:
#   Returns the date of the last day.

proc ::ledger::dates::endOfMonth {date} {
    set next [addMonths [startOfMonth $date] 1]
    return [addDays $next -1]
}

# ledger::dates::weekday --
#
#   The English name of the day of the week.
#
# Arguments:
#   date    the date
#
# Results:
#   Returns a name such as Monday.

proc ::ledger::dates::weekday {date} {
    return [clock format [ToSeconds $date] -format %A -gmt 1 -locale C]
}
