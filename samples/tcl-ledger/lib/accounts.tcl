# accounts.tcl --
#
#   The chart of accounts.  Every account has a colon separated name
#   ("assets:bank:checking"), a type and an open or closed state.  The
#   type decides on which side the balance normally lies.

namespace eval ::ledger::accounts {
    namespace export create exists get names close type normalSign \
        parent describe

    # Map of account name to a dictionary with the keys type,
    # description, opened and closed.
    variable accounts [dict create]

    # Account types and the sign of their normal balance.  Debits are
    # positive amounts and credits negative ones.
    variable types {
        asset       1
        expense     1
        liability   -1
        equity      -1
        income      -1
    }
}

# ledger::accounts::reset --
#
#   Remove every account.
#
# Arguments:
#   none
#
# Results:
#   Returns an empty string.

proc ::ledger::accounts::reset {} {
    variable accounts
    set accounts [dict create]
    return
}

# ledger::accounts::create --
#
#   Open a new account.
#
# Arguments:
#   name        account name, e.g. expenses:office:paper
#   type        one of asset, liability, equity, income, expense
#   args        options: -description text, -opened date
#
# Results:
#   Returns the account name.  Raises an error if the account already
#   exists or an argument is invalid.

proc ::ledger::accounts::create {name type args} {
    variable accounts
    variable types
    ::ledger::util::checkName "account name" $name
    ::ledger::util::checkOneOf "account type" $type [dict keys $types]
    set opts [::ledger::util::options {-description {} -opened {}} $args]
    if {[dict exists $accounts $name]} {
        return -code error -errorcode {LEDGER ACCOUNT EXISTS} \
            "account \"$name\" already exists"
    }
    set opened [dict get $opts -opened]
    if {$opened ne ""} {
        ::ledger::dates::check $opened
    }
    dict set accounts $name [dict create \
        type $type \
        description [dict get $opts -description] \
        opened $opened \
        closed {}]
    return $name
}

# ledger::accounts::exists --
#
#   Test whether an account exists.
#
# Arguments:
#   name    account name
#
# Results:
#   Returns 1 or 0.

proc ::ledger::accounts::exists {name} {
    variable accounts
    return [dict exists $accounts $name]
}

# ledger::accounts::get --
#
#   Fetch the record of an account.
#
# Arguments:
#   name    account name
#
# Results:
#   Returns a dictionary with the keys type, description, opened and
#   closed.  Raises an error for unknown accounts.

proc ::ledger::accounts::get {name} {
    variable accounts
    if {![dict exists $accounts $name]} {
        return -code error -errorcode {LEDGER ACCOUNT UNKNOWN} \
            "unknown account \"$name\""
    }
    return [dict get $accounts $name]
}

# ledger::accounts::type --
#
#   The type of an account.
#
# Arguments:
#   name    account name
#
# Results:
#   Returns asset, liability, equity, income or expense.

proc ::ledger::accounts::type {name} {
    return [dict get [get $name] type]
}

# ledger::accounts::normalSign --
#
#   The sign of the normal balance of an account: 1 for accounts that
#   grow with debits, -1 for accounts that grow with credits.
#
# Arguments:
#   name    account name
#
# Results:
#   Returns 1 or -1.

proc ::ledger::accounts::normalSign {name} {
    variable types
    return [dict get $types [type $name]]
}

# ledger::accounts::names --
#
#   List account names in sorted order.
#
# Arguments:
#   args    options: -type t to keep one type only, -open 1 to leave
#           out closed accounts, -under prefix to keep a subtree
#
# Results:
#   Returns a sorted list of names.

proc ::ledger::accounts::names {args} {
    variable accounts
    set opts [::ledger::util::options {-type {} -open 0 -under {}} $args]
    set wantType [dict get $opts -type]
    set under [dict get $opts -under]
    set result {}
    dict for {name record} $accounts {
        if {$wantType ne "" && [dict get $record type] ne $wantType} {
            continue
        }
        if {[dict get $opts -open] && [dict get $record closed] ne ""} {
            continue
        }
        if {$under ne "" && $name ne $under
                && ![string match "$under:*" $name]} {
            continue
        }
        lappend result $name
    }
    return [lsort $result]
}

# ledger::accounts::isOpen --
#
#   Test whether an account accepts postings on a given day.
#
# Arguments:
#   name    account name
#   date    the posting date
#
# Results:
#   Returns 1 if the account is open on that day, 0 otherwise.

proc ::ledger::accounts::isOpen {name date} {
    set record [get $name]
    set opened [dict get $record opened]
    set closed [dict get $record closed]
    if {$opened ne "" && [string compare $date $opened] < 0} {
        return 0
    }
    if {$closed ne "" && [string compare $date $closed] > 0} {
        return 0
    }
    return 1
}

# ledger::accounts::close --
#
#   Close an account.  Postings dated after the closing day are
#   rejected by the journal.  The balance must be zero.
#
# Arguments:
#   name    account name
#   date    closing date
#
# Results:
#   Returns an empty string.

proc ::ledger::accounts::close {name date} {
    variable accounts
    set record [get $name]
    ::ledger::dates::check $date
    if {[dict get $record closed] ne ""} {
        return -code error -errorcode {LEDGER ACCOUNT CLOSED} \
            "account \"$name\" is already closed"
    }
    set balance [::ledger::journal::balance $name]
    if {$balance != 0} {
        return -code error -errorcode {LEDGER ACCOUNT BALANCE} \
            "cannot close \"$name\": balance is [::ledger::money::format $balance]"
    }
    dict set accounts $name closed $date
    return
}

# ledger::accounts::parent --
#
#   The parent of an account in the name hierarchy.
#
# Arguments:
#   name    account name
#
# Results:
#   Returns the parent name, or "" for a top level name.

proc ::ledger::accounts::parent {name} {
    set parts [split $name :]
    if {[llength $parts] < 2} {
        return ""
    }
    return [join [lrange $parts 0 end-1] :]
}

# ledger::accounts::describe --
#
#   A one line summary of an account for listings.
#
# Arguments:
#   name    account name
#
# Results:
#   Returns text such as "assets:cash (asset) Petty cash".

proc ::ledger::accounts::describe {name} {
    set record [get $name]
    set line "$name ([dict get $record type])"
    if {[dict get $record description] ne ""} {
        append line " " [dict get $record description]
    }
    if {[dict get $record closed] ne ""} {
        append line " \[closed [dict get $record closed]\]"
    }
    return $line
}

# ledger::accounts::dump --
#
#   The whole chart of accounts as a dictionary, used when saving.
#
# Arguments:
#   none
#
# Results:
#   Returns a dictionary of name to record.

proc ::ledger::accounts::dump {} {
    variable accounts
    return $accounts
}

# ledger::accounts::restore --
#
#   Replace the chart of accounts with a saved dictionary.
#
# Arguments:
#   saved   dictionary produced by dump
#
# Results:
#   Returns the number of accounts loaded.

proc ::ledger::accounts::restore {saved} {
    variable accounts
    reset
    dict for {name record} $saved {
        create $name [dict get $record type] \
            -description [::ledger::util::getDefault $record description {}] \
            -opened [::ledger::util::getDefault $record opened {}]
        dict set accounts $name closed [::ledger::util::getDefault $record closed {}]
    }
    return [dict size $accounts]
}
