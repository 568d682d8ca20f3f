#!/usr/bin/env tclsh
# ledger.tcl --
#
#   Command-line front end of the ledger package.
#
#       tclsh bin/ledger.tcl ?-book FILE? COMMAND ?ARG ...?
#
#   The book file defaults to $LEDGER_BOOK, or ledger.book in the
#   current directory.  Run "tclsh bin/ledger.tcl help" for the list of
#   commands.  Sourcing this file from another script (as the tests
#   do) defines ledger::cli::main without running it.

lappend auto_path [file dirname [file dirname [file normalize [info script]]]]
package require ledger

namespace eval ::ledger::cli {
    namespace export main

    # Command words and their usage lines, in the order "help" shows.
    variable commands {
        init        {init}
        account     {account add NAME TYPE ?DESCRIPTION? | account list | account close NAME DATE}
        post        {post DATE DESCRIPTION ACCOUNT=AMOUNT ACCOUNT?=AMOUNT? ...}
        balance     {balance ?ACCOUNT? ?-to DATE?}
        report      {report trial ?DATE? | report balance DATE | report income FROM TO}
        import      {import accounts|journal FILE}
        export      {export ?FILE?}
        help        {help}
    }
}

# ledger::cli::Usage --
#
#   Raise a usage error for a command.
#
# Arguments:
#   command     the command word
#
# Results:
#   Never returns.

proc ::ledger::cli::Usage {command} {
    variable commands
    return -code error -level 2 -errorcode {LEDGER USAGE} \
        "usage: ledger [dict get $commands $command]"
}

# ledger::cli::main --
#
#   Run one command against a book file.  Commands that change the
#   book save it afterwards.
#
# Arguments:
#   argv    the command line words
#
# Results:
#   Returns the text to print.  Errors propagate to the caller.

proc ::ledger::cli::main {argv} {
    variable commands
    set book [expr {[info exists ::env(LEDGER_BOOK)] ? $::env(LEDGER_BOOK) : "ledger.book"}]
    if {[lindex $argv 0] eq "-book"} {
        set book [lindex $argv 1]
        set argv [lrange $argv 2 end]
    }
    set argv [lassign $argv command]
    if {$command eq ""} {
        set command help
    }
    if {![dict exists $commands $command]} {
        return -code error -errorcode {LEDGER USAGE} \
            "unknown command \"$command\": try \"ledger help\""
    }
    ::ledger::reset
    if {$command ni {init help}} {
        ::ledger::store::load $book
    }
    set result [cmd_$command {*}$argv]
    if {$command ni {help balance report export}} {
        ::ledger::store::save $book
    }
    return $result
}

# ledger::cli::cmd_help --
#
#   List the commands.
#
# Arguments:
#   none
#
# Results:
#   Returns the help text.

proc ::ledger::cli::cmd_help {args} {
    variable commands
    set lines [list "usage: ledger ?-book FILE? COMMAND ?ARG ...?" "" "commands:"]
    dict for {name usage} $commands {
        lappend lines "  $usage"
    }
    return [join $lines \n]
}

# ledger::cli::cmd_init --
#
#   Start an empty book.  Refuses to overwrite an existing one.
#
# Arguments:
#   none
#
# Results:
#   Returns a confirmation message.

proc ::ledger::cli::cmd_init {args} {
    upvar 1 book book
    if {[llength $args] != 0} {
        Usage init
    }
    if {[file exists $book]} {
        return -code error -errorcode {LEDGER CLI EXISTS} \
            "book \"$book\" already exists"
    }
    return "created $book"
}

# ledger::cli::cmd_account --
#
#   Add, list or close accounts.
#
# Arguments:
#   args    the sub-command and its arguments
#
# Results:
#   Returns a message or the account listing.

proc ::ledger::cli::cmd_account {args} {
    set args [lassign $args action]
    switch -- $action {
        add {
            if {[llength $args] < 2 || [llength $args] > 3} {
                Usage account
            }
            lassign $args name type description
            ::ledger::accounts::create $name $type -description $description
            return "added $name"
        }
        list {
            set lines {}
            foreach name [::ledger::accounts::names] {
                lappend lines [::ledger::accounts::describe $name]
            }
            return [join $lines \n]
        }
        close {
            if {[llength $args] != 2} {
                Usage account
            }
            ::ledger::accounts::close {*}$args
            return "closed [lindex $args 0]"
        }
        default {
            Usage account
        }
    }
}

# ledger::cli::ParsePosting --
#
#   Turn an ACCOUNT=AMOUNT word into a posting.  A word without "="
#   leaves the amount empty so the journal balances it.
#
# Arguments:
#   word    the command line word
#
# Results:
#   Returns an {account amount} list.

proc ::ledger::cli::ParsePosting {word} {
    set index [string first = $word]
    if {$index < 0} {
        return [list $word {}]
    }
    set account [string range $word 0 [expr {$index - 1}]]
    set amount [::ledger::money::parse [string range $word [expr {$index + 1}] end]]
    return [list $account $amount]
}

# ledger::cli::cmd_post --
#
#   Post a transaction.
#
# Arguments:
#   args    date, description and two or more postings
#
# Results:
#   Returns the new transaction id.

proc ::ledger::cli::cmd_post {args} {
    if {[llength $args] < 4} {
        Usage post
    }
    set postings {}
    foreach word [lrange $args 2 end] {
        lappend postings [ParsePosting $word]
    }
    set id [::ledger::journal::post [lindex $args 0] [lindex $args 1] $postings]
    return "posted #$id"
}

# ledger::cli::cmd_balance --
#
#   Show the balance of one account, or of every account.
#
# Arguments:
#   args    optional account name and -to date
#
# Results:
#   Returns the balance lines.

proc ::ledger::cli::cmd_balance {args} {
    set account ""
    if {[llength $args] % 2 == 1} {
        set args [lassign $args account]
    }
    set opts [::ledger::util::options {-to {}} $args]
    if {$account ne ""} {
        ::ledger::accounts::get $account
        set amount [::ledger::journal::balance $account -to [dict get $opts -to]]
        return "$account [::ledger::money::format $amount -grouping 1]"
    }
    set rows {}
    dict for {name amount} [::ledger::journal::balances -to [dict get $opts -to]] {
        lappend rows [list $name $amount]
    }
    return [::ledger::reports::table {Account Balance} {text amount} $rows]
}

# ledger::cli::cmd_report --
#
#   Print a trial balance, balance sheet or income statement.
#
# Arguments:
#   args    the report kind and its dates
#
# Results:
#   Returns the report text.

proc ::ledger::cli::cmd_report {args} {
    set args [lassign $args kind]
    switch -- $kind {
        trial {
            if {[llength $args] > 1} {
                Usage report
            }
            set data [::ledger::reports::trialBalance -to [lindex $args 0]]
        }
        balance {
            if {[llength $args] != 1} {
                Usage report
            }
            set data [::ledger::reports::balanceSheet [lindex $args 0]]
        }
        income {
            if {[llength $args] != 2} {
                Usage report
            }
            set data [::ledger::reports::incomeStatement {*}$args]
        }
        default {
            Usage report
        }
    }
    return [::ledger::reports::render $kind $data]
}

# ledger::cli::cmd_import --
#
#   Import accounts or transactions from a CSV file.
#
# Arguments:
#   args    what to import and the file name
#
# Results:
#   Returns a summary message.

proc ::ledger::cli::cmd_import {args} {
    if {[llength $args] != 2} {
        Usage import
    }
    lassign $args what path
    set text [::ledger::store::readFile $path]
    switch -- $what {
        accounts {
            set count [::ledger::csv::importAccounts $text]
            return "imported $count accounts"
        }
        journal {
            set ids [::ledger::csv::importJournal $text]
            return "imported [llength $ids] transactions"
        }
        default {
            Usage import
        }
    }
}

# ledger::cli::cmd_export --
#
#   Export the journal as CSV, to a file or as the result.
#
# Arguments:
#   args    an optional file name
#
# Results:
#   Returns the CSV text, or a message when a file name is given.

proc ::ledger::cli::cmd_export {args} {
    if {[llength $args] > 1} {
        Usage export
    }
    set text [::ledger::csv::exportJournal]
    if {[llength $args] == 0} {
        return [string trimright $text \n]
    }
    ::ledger::store::writeFile [lindex $args 0] $text
    return "wrote [lindex $args 0]"
}

if {[info exists ::argv0]
        && [file normalize $::argv0] eq [file normalize [info script]]} {
    if {[catch {::ledger::cli::main $::argv} result options]} {
        puts stderr "ledger: $result"
        exit 1
    }
    if {$result ne ""} {
        puts $result
    }
}
