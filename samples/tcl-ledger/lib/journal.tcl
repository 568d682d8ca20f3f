# journal.tcl --
#
#   The journal holds balanced transactions.  A transaction has a date,
#   a description and two or more postings.  Each posting is a list of
#   an account name and an amount in cents; debits are positive and
#   credits negative, and the amounts of a transaction add up to zero.

namespace eval ::ledger::journal {
    namespace export post get ids void balance balances

    # Map of transaction id to a dictionary with the keys date,
    # description, reference, postings and voided.
    variable transactions [dict create]

    # Id handed out to the next transaction.
    variable nextId 1
}

# ledger::journal::reset --
#
#   Remove every transaction and restart numbering at one.
#
# Arguments:
#   none
#
# Results:
#   Returns an empty string.

proc ::ledger::journal::reset {} {
    variable transactions
    variable nextId
    set transactions [dict create]
    set nextId 1
    return
}

# ledger::journal::Normalize --
#
#   Check a list of postings and fill in a missing amount.  At most one
#   posting may leave its amount empty; it receives whatever balances
#   the transaction.
#
# Arguments:
#   date        transaction date, used to check the accounts are open
#   postings    list of {account amount ?memo?} lists
#
# Results:
#   Returns the postings with every amount filled in and every posting
#   padded to three elements.

proc ::ledger::journal::Normalize {date postings} {
    if {[llength $postings] < 2} {
        return -code error -errorcode {LEDGER JOURNAL POSTINGS} \
            "a transaction needs at least two postings"
    }
    set total 0
    set blank -1
    set result {}
    set index 0
    foreach posting $postings {
        lassign $posting account amount memo
        if {[llength $posting] < 2 || [llength $posting] > 3} {
            return -code error -errorcode {LEDGER JOURNAL POSTINGS} \
                "malformed posting \"$posting\": expected {account amount ?memo?}"
        }
        ::ledger::accounts::get $account
        if {![::ledger::accounts::isOpen $account $date]} {
            return -code error -errorcode {LEDGER JOURNAL CLOSED} \
                "account \"$account\" is not open on $date"
        }
        if {$amount eq ""} {
            if {$blank >= 0} {
                return -code error -errorcode {LEDGER JOURNAL POSTINGS} \
                    "only one posting may leave its amount empty"
            }
            set blank $index
        } else {
            set amount [::ledger::util::checkInteger amount $amount]
            incr total $amount
        }
        lappend result [list $account $amount $memo]
        incr index
    }
    if {$blank >= 0} {
        lset result $blank 1 [expr {-$total}]
    } elseif {$total != 0} {
        return -code error -errorcode {LEDGER JOURNAL UNBALANCED} \
            "transaction does not balance: off by [::ledger::money::format $total]"
    }
    return $result
}

# ledger::journal::post --
#
#   Record a transaction.
#
# Arguments:
#   date            transaction date
#   description     free text shown in reports
#   postings        list of {account amount ?memo?} lists
#   args            options: -reference text (an invoice number, a
#                   cheque number) and -id n to reuse a saved id
#
# Results:
#   Returns the id of the new transaction.

proc ::ledger::journal::post {date description postings args} {
    variable transactions
    variable nextId
    set opts [::ledger::util::options {-reference {} -id {}} $args]
    ::ledger::dates::check $date
    if {[string trim $description] eq ""} {
        return -code error -errorcode {LEDGER JOURNAL DESCRIPTION} \
            "a transaction needs a description"
    }
    set postings [Normalize $date $postings]
    set id [dict get $opts -id]
    if {$id eq ""} {
        set id $nextId
    } else {
        set id [::ledger::util::checkPositive id $id]
        if {[dict exists $transactions $id]} {
            return -code error -errorcode {LEDGER JOURNAL EXISTS} \
                "transaction $id already exists"
        }
    }
    if {$id >= $nextId} {
        set nextId [expr {$id + 1}]
    }
    dict set transactions $id [dict create \
        date $date \
        description $description \
        reference [dict get $opts -reference] \
        postings $postings \
        voided 0]
    return $id
}

# ledger::journal::get --
#
#   Fetch a transaction.
#
# Arguments:
#   id      transaction id
#
# Results:
#   Returns a dictionary with the keys date, description, reference,
#   postings and voided.

proc ::ledger::journal::get {id} {
    variable transactions
    if {![dict exists $transactions $id]} {
        return -code error -errorcode {LEDGER JOURNAL UNKNOWN} \
            "unknown transaction \"$id\""
    }
    return [dict get $transactions $id]
}

# ledger::journal::ids --
#
#   List transaction ids ordered by date, then by id.
#
# Arguments:
#   args    options: -from date, -to date, -account name (keep
#           transactions touching that account or its subaccounts),
#           -voided 1 to include voided transactions
#
# Results:
#   Returns a list of ids.

proc ::ledger::journal::ids {args} {
    variable transactions
    set opts [::ledger::util::options {-from {} -to {} -account {} -voided 0} $args]
    set from [dict get $opts -from]
    set to [dict get $opts -to]
    set account [dict get $opts -account]
    set rows {}
    dict for {id record} $transactions {
        if {[dict get $record voided] && ![dict get $opts -voided]} {
            continue
        }
        if {![::ledger::dates::inRange [dict get $record date] $from $to]} {
            continue
        }
        if {$account ne "" && ![Touches $record $account]} {
            continue
        }
        lappend rows [list [dict get $record date] $id]
    }
    set result {}
    foreach row [lsort -index 0 [lsort -integer -index 1 $rows]] {
        lappend result [lindex $row 1]
    }
    return $result
}

# ledger::journal::Touches --
#
#   Test whether a transaction posts to an account or below it.
#
# Arguments:
#   record      transaction dictionary
#   account     account name or prefix
#
# Results:
#   Returns 1 or 0.

proc ::ledger::journal::Touches {record account} {
    foreach posting [dict get $record postings] {
        set name [lindex $posting 0]
        if {$name eq $account || [string match "$account:*" $name]} {
            return 1
        }
    }
    return 0
}

# ledger::journal::void --
#
#   Mark a transaction as voided.  Voided transactions stay in the
#   journal for the audit trail but no longer count in balances.
#
# Arguments:
#   id      transaction id
#
# Results:
#   Returns an empty string.

proc ::ledger::journal::void {id} {
    variable transactions
    set record [get $id]
    if {[dict get $record voided]} {
        return -code error -errorcode {LEDGER JOURNAL VOIDED} \
            "transaction $id is already voided"
    }
    dict set transactions $id voided 1
    return
}

# ledger::journal::balance --
#
#   The balance of an account, including its subaccounts.
#
# Arguments:
#   account     account name or prefix
#   args        options: -from date, -to date
#
# Results:
#   Returns the sum of the postings in cents, debits positive.

proc ::ledger::journal::balance {account args} {
    variable transactions
    set opts [::ledger::util::options {-from {} -to {}} $args]
    set total 0
    dict for {id record} $transactions {
        if {[dict get $record voided]} {
            continue
        }
        if {![::ledger::dates::inRange [dict get $record date] \
                [dict get $opts -from] [dict get $opts -to]]} {
            continue
        }
        foreach posting [dict get $record postings] {
            lassign $posting name amount
            if {$name eq $account || [string match "$account:*" $name]} {
                incr total $amount
            }
        }
    }
    return $total
}

# ledger::journal::balances --
#
#   The balance of every account that has postings.
#
# Arguments:
#   args    options: -from date, -to date
#
# Results:
#   Returns a dictionary of account name to balance, sorted by name.

proc ::ledger::journal::balances {args} {
    variable transactions
    set opts [::ledger::util::options {-from {} -to {}} $args]
    set totals [dict create]
    dict for {id record} $transactions {
        if {[dict get $record voided]} {
            continue
        }
        if {![::ledger::dates::inRange [dict get $record date] \
                [dict get $opts -from] [dict get $opts -to]]} {
            continue
        }
        foreach posting [dict get $record postings] {
            lassign $posting name amount
            dict incr totals $name $amount
        }
    }
    return [lsort -stride 2 -index 0 $totals]
}

# ledger::journal::dump --
#
#   Every transaction, used when saving.
#
# Arguments:
#   none
#
# Results:
#   Returns a dictionary of id to record.

proc ::ledger::journal::dump {} {
    variable transactions
    return $transactions
}

# ledger::journal::restore --
#
#   Replace the journal with a saved dictionary.  Accounts must be
#   restored first.
#
# Arguments:
#   saved   dictionary produced by dump
#
# Results:
#   Returns the number of transactions loaded.

proc ::ledger::journal::restore {saved} {
    variable transactions
    reset
    dict for {id record} $saved {
        post [dict get $record date] [dict get $record description] \
            [dict get $record postings] \
            -reference [::ledger::util::getDefault $record reference {}] \
            -id $id
        if {[::ledger::util::getDefault $record voided 0]} {
            dict set transactions $id voided 1
        }
    }
    return [dict size $transactions]
}
