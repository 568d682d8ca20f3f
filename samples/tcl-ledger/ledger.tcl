# ledger.tcl --
#
#   Entry point of the ledger package.  Sources the library files in
#   dependency order and provides a few package-wide commands.
#
# Copyright (c) the tcl-ledger authors.  MIT license, see README.md.

package require Tcl 8.6

namespace eval ::ledger {
    variable version 0.3.0
    variable libdir [file join [file dirname [file normalize [info script]]] lib]
    namespace export reset version
}

foreach ::ledger::file {util money dates accounts journal reports csv store} {
    source [file join $::ledger::libdir $::ledger::file.tcl]
}
unset ::ledger::file

# ledger::reset --
#
#   Forget every account and transaction.  Used by the
#   command-line tool before loading a book and by the test suite.
#
# Arguments:
#   none
#
# Results:
#   Returns an empty string.

proc ::ledger::reset {} {
    accounts::reset
    journal::reset
    return
}

# ledger::version --
#
#   Report the version of the package.
#
# Arguments:
#   none
#
# Results:
#   Returns the version string, e.g. 0.3.0.

proc ::ledger::version {} {
    variable version
    return $version
}

package provide ledger $::ledger::version
