# store.tcl --
#
#   Saving and loading a whole book.  A book file is plain text: a
#   format line followed by one Tcl list per record, which the package
#   reads back with the list commands only.  Book files are never
#   evaluated as scripts, so a damaged file cannot run code.

namespace eval ::ledger::store {
    namespace export save load serialize deserialize
    variable magic "tcl-ledger-book 1"

    # Record tag of each section, in the order they are written and
    # restored.  Accounts come first because the journal refers to them.
    variable sections {account accounts transaction journal}
}

# ledger::store::serialize --
#
#   The current book as text: one line per account and transaction,
#   each a three element list {tag key record}.
#
# Arguments:
#   none
#
# Results:
#   Returns the text of a book file.

proc ::ledger::store::serialize {} {
    variable magic
    variable sections
    set lines [list $magic]
    foreach {tag section} $sections {
        dict for {key record} [::ledger::${section}::dump] {
            lappend lines [list $tag $key $record]
        }
    }
    return "[join $lines \n]\n"
}

# ledger::store::deserialize --
#
#   Replace the current book with one read from text.  The text is
#   parsed completely before anything is replaced, and the previous
#   book is put back if restoring fails.
#
# Arguments:
#   text    the text of a book file
#
# Results:
#   Returns a dictionary of section name to the number of records
#   loaded.

proc ::ledger::store::deserialize {text} {
    variable magic
    variable sections
    set lines [split [string trim $text] \n]
    if {[lindex $lines 0] ne $magic} {
        return -code error -errorcode {LEDGER STORE FORMAT} \
            "not a ledger book: first line is \"[lindex $lines 0]\""
    }
    set found [dict create]
    foreach {tag section} $sections {
        dict set found $section [dict create]
    }
    set number 1
    foreach line [lrange $lines 1 end] {
        incr number
        if {[string trim $line] eq ""} {
            continue
        }
        if {[catch {llength $line} size] || $size != 3} {
            return -code error -errorcode {LEDGER STORE FORMAT} \
                "line $number: expected {tag key record}"
        }
        lassign $line tag key record
        if {![dict exists $sections $tag]} {
            return -code error -errorcode {LEDGER STORE FORMAT} \
                "line $number: unknown record tag \"$tag\""
        }
        dict set found [dict get $sections $tag] $key $record
    }
    set saved [dict create]
    foreach {tag section} $sections {
        dict set saved $section [::ledger::${section}::dump]
    }
    set counts [dict create]
    if {[catch {
        foreach {tag section} $sections {
            dict set counts $section \
                [::ledger::${section}::restore [dict get $found $section]]
        }
    } message options]} {
        foreach {tag section} $sections {
            ::ledger::${section}::reset
        }
        foreach {tag section} $sections {
            ::ledger::${section}::restore [dict get $saved $section]
        }
        return -options $options "cannot load book: $message"
    }
    return $counts
}

# ledger::store::save --
#
#   Write the current book to a file.  The file is written under a
#   temporary name first and then renamed, so a failed save never
#   leaves half a book behind.
#
# Arguments:
#   path    file name
#
# Results:
#   Returns the path.

proc ::ledger::store::save {path} {
    set temp "$path.tmp"
    set channel [open $temp w]
    fconfigure $channel -encoding utf-8 -translation lf
    if {[catch {puts -nonewline $channel [serialize]} message options]} {
        close $channel
        file delete $temp
        return -options $options $message
    }
    close $channel
    file rename -force $temp $path
    return $path
}

# ledger::store::load --
#
#   Read a book file and make it the current book.
#
# Arguments:
#   path    file name
#
# Results:
#   Returns the counts from deserialize.

proc ::ledger::store::load {path} {
    if {![file exists $path]} {
        return -code error -errorcode {LEDGER STORE MISSING} \
            "book file \"$path\" does not exist"
    }
    set channel [open $path r]
    fconfigure $channel -encoding utf-8
    set text [read $channel]
    close $channel
    return [deserialize $text]
}

# ledger::store::readFile --
#
#   Read a whole text file, used for CSV imports.
#
# Arguments:
#   path    file name
#
# Results:
#   Returns the contents.

proc ::ledger::store::readFile {path} {
    set channel [open $path r]
    fconfigure $channel -encoding utf-8
    set text [read $channel]
    close $channel
    return $text
}

# ledger::store::writeFile --
#
#   Write a whole text file, used for CSV exports.
#
# Arguments:
#   path    file name
#   text    the contents
#
# Results:
#   Returns the path.

proc ::ledger::store::writeFile {path text} {
    set channel [open $path w]
    fconfigure $channel -encoding utf-8 -translation lf
    puts -nonewline $channel $text
    close $channel
    return $path
}
