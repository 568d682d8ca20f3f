# pkgIndex.tcl --
#
#   Package index for the ledger package.  Tcl reads this file when the
#   directory holding it (or its parent) is on auto_path.

if {![package vsatisfies [package provide Tcl] 8.6]} {
    return
}
package ifneeded ledger 0.3.0 [list source [file join $dir ledger.tcl]]
