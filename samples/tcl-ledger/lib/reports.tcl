# reports.tcl --
#
#   Reports built from the journal: trial balance, balance sheet and
#   income statement.  Each
#   report comes in two forms: a command returning plain data, and a
#   "render" command that turns that data into aligned text.

namespace eval ::ledger::reports {
    namespace export trialBalance balanceSheet incomeStatement table render
}

# ledger::reports::trialBalance --
#
#   Debit and credit totals of every account with a non-zero balance.
#
# Arguments:
#   args    options: -to date (defaults to every transaction)
#
# Results:
#   Returns a dictionary with the keys rows (a list of
#   {account debit credit} lists), debits and credits.

proc ::ledger::reports::trialBalance {args} {
    set opts [::ledger::util::options {-to {}} $args]
    set rows {}
    set debits 0
    set credits 0
    dict for {account amount} [::ledger::journal::balances -to [dict get $opts -to]] {
        if {$amount > 0} {
            lappend rows [list $account $amount 0]
            incr debits $amount
        } elseif {$amount < 0} {
            lappend rows [list $account 0 [expr {-$amount}]]
            incr credits [expr {-$amount}]
        }
    }
    return [dict create rows $rows debits $debits credits $credits]
}

# ledger::reports::SectionTotals --
#
#   Balances of the accounts of one type, shown with their normal sign
#   so that a healthy account reads as a positive number.
#
# Arguments:
#   type        account type
#   balances    dictionary of account to raw balance
#
# Results:
#   Returns a dictionary with the keys rows (a list of
#   {account amount} lists) and total.

proc ::ledger::reports::SectionTotals {type balances} {
    set rows {}
    set total 0
    foreach account [::ledger::accounts::names -type $type] {
        if {![dict exists $balances $account]} {
            continue
        }
        set amount [expr {[dict get $balances $account] * [::ledger::accounts::normalSign $account]}]
        if {$amount == 0} {
            continue
        }
        lappend rows [list $account $amount]
        incr total $amount
    }
    return [dict create rows $rows total $total]
}

# ledger::reports::balanceSheet --
#
#   Assets, liabilities and equity on a given day.  Income and expense
#   accounts that have not been closed into equity show up as the
#   retained earnings line so that the sheet always balances.
#
# Arguments:
#   asOf    the reporting date
#
# Results:
#   Returns a dictionary with the keys asOf, assets, liabilities,
#   equity (each a section from SectionTotals), earnings and balanced.

proc ::ledger::reports::balanceSheet {asOf} {
    ::ledger::dates::check $asOf
    set balances [::ledger::journal::balances -to $asOf]
    set assets [SectionTotals asset $balances]
    set liabilities [SectionTotals liability $balances]
    set equity [SectionTotals equity $balances]
    set income [SectionTotals income $balances]
    set expenses [SectionTotals expense $balances]
    set earnings [expr {[dict get $income total] - [dict get $expenses total]}]
    set right [expr {[dict get $liabilities total] + [dict get $equity total] + $earnings}]
    return [dict create \
        asOf $asOf \
        assets $assets \
        liabilities $liabilities \
        equity $equity \
        earnings $earnings \
        balanced [expr {[dict get $assets total] == $right}]]
}

# ledger::reports::incomeStatement --
#
#   Income and expenses over a period.
#
# Arguments:
#   from    first day of the period
#   to      last day of the period
#
# Results:
#   Returns a dictionary with the keys from, to, income, expenses
#   (sections) and net.

proc ::ledger::reports::incomeStatement {from to} {
    ::ledger::dates::check $from
    ::ledger::dates::check $to
    if {[::ledger::dates::compare $from $to] > 0} {
        return -code error -errorcode {LEDGER REPORT RANGE} \
            "period starts after it ends: $from > $to"
    }
    set balances [::ledger::journal::balances -from $from -to $to]
    set income [SectionTotals income $balances]
    set expenses [SectionTotals expense $balances]
    return [dict create \
        from $from \
        to $to \
        income $income \
        expenses $expenses \
        net [expr {[dict get $income total] - [dict get $expenses total]}]]
}

# ledger::reports::table --
#
#   Format rows as an aligned text table.  Columns whose spec is
#   "amount" hold cents and are right aligned; other columns are left
#   aligned.
#
# Arguments:
#   headers     list of column titles
#   specs       list of column kinds, "text" or "amount"
#   rows        list of rows, each a list of cells
#
# Results:
#   Returns the table as a string of newline separated lines.

proc ::ledger::reports::table {headers specs rows} {
    if {[llength $headers] != [llength $specs]} {
        return -code error -errorcode {LEDGER REPORT COLUMNS} \
            "got [llength $headers] headers but [llength $specs] column specs"
    }
    set cells [list $headers]
    foreach row $rows {
        set line {}
        foreach value $row spec $specs {
            if {$spec eq "amount"} {
                set value [::ledger::money::format $value -grouping 1]
            }
            lappend line $value
        }
        lappend cells $line
    }
    set widths {}
    foreach header $headers {
        lappend widths 0
    }
    foreach line $cells {
        set column 0
        foreach value $line {
            if {[string length $value] > [lindex $widths $column]} {
                lset widths $column [string length $value]
            }
            incr column
        }
    }
    set out {}
    foreach line $cells {
        set parts {}
        foreach value $line spec $specs width $widths {
            if {$spec eq "amount"} {
                lappend parts [format %*s $width $value]
            } else {
                lappend parts [format %-*s $width $value]
            }
        }
        lappend out [string trimright [join $parts "  "]]
    }
    return [join $out \n]
}

# ledger::reports::render --
#
#   Turn the data of a report into text.
#
# Arguments:
#   kind    trial, balance or income
#   data    the dictionary returned by the matching report command
#
# Results:
#   Returns the report text.

proc ::ledger::reports::render {kind data} {
    ::ledger::util::checkOneOf "report kind" $kind {trial balance income}
    switch -- $kind {
        trial {
            set rows [dict get $data rows]
            lappend rows [list TOTAL [dict get $data debits] [dict get $data credits]]
            return [table {Account Debit Credit} {text amount amount} $rows]
        }
        balance {
            set rows {}
            foreach {section title} {assets Assets liabilities Liabilities equity Equity} {
                lappend rows [list $title ""]
                foreach row [dict get $data $section rows] {
                    lappend rows [list "  [lindex $row 0]" [lindex $row 1]]
                }
                if {$section eq "equity"} {
                    lappend rows [list "  retained earnings" [dict get $data earnings]]
                }
            }
            return "Balance sheet as of [dict get $data asOf]\n[RenderSections $rows]"
        }
        income {
            set rows {}
            foreach {section title} {income Income expenses Expenses} {
                lappend rows [list $title ""]
                foreach row [dict get $data $section rows] {
                    lappend rows [list "  [lindex $row 0]" [lindex $row 1]]
                }
                lappend rows [list "  total" [dict get $data $section total]]
            }
            lappend rows [list "Net" [dict get $data net]]
            set title "Income statement [dict get $data from] to [dict get $data to]"
            return "$title\n[RenderSections $rows]"
        }
    }
}

# ledger::reports::RenderSections --
#
#   Format two column rows where an empty amount marks a section title.
#
# Arguments:
#   rows    list of {label amount} lists
#
# Results:
#   Returns the formatted lines.

proc ::ledger::reports::RenderSections {rows} {
    set width 0
    foreach row $rows {
        set width [expr {max($width, [string length [lindex $row 0]])}]
    }
    set out {}
    foreach row $rows {
        lassign $row label amount
        if {$amount eq ""} {
            lappend out $label
        } else {
            set text [::ledger::money::format $amount -grouping 1]
            lappend out [format "%-*s  %12s" $width $label $text]
        }
    }
    return [join $out \n]
}
