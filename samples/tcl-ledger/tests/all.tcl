# all.tcl --
#
#   Run every *.test file in this directory, each in its own
#   interpreter.  Extra arguments are passed to tcltest::configure, for
#   example "-file journal.test" or "-match csv-*".
#
#       tclsh tests/all.tcl ?OPTION VALUE ...?

package require Tcl 8.6
package require tcltest 2.5
namespace import ::tcltest::*

configure -testdir [file dirname [file normalize [info script]]] {*}$argv
exit [runAllTests]
