# csv.tcl --
#
#   Reading and writing comma separated values.  Fields that contain
#   the separator, a double quote or a newline are quoted, and quotes
#   inside them are doubled, as in RFC 4180.
#
#   Journal files use one row per posting with the columns
#       date,reference,description,account,amount,memo
#   and consecutive rows sharing a reference form one transaction.

namespace eval ::ledger::csv {
    namespace export split join parse format importAccounts \
        importJournal exportJournal

    variable journalHeader {date reference description account amount memo}
}

# ledger::csv::split --
#
#   Split one record into its fields.
#
# Arguments:
#   line        the record, without its trailing newline
#   sep         the separator character, a comma by default
#
# Results:
#   Returns a list of fields.  Raises an error for an unterminated
#   quoted field.

proc ::ledger::csv::split {line {sep ,}} {
    set fields {}
    set field ""
    set quoted 0
    set length [string length $line]
    for {set i 0} {$i < $length} {incr i} {
        set char [string index $line $i]
        if {$quoted} {
            if {$char eq "\""} {
                if {[string index $line [expr {$i + 1}]] eq "\""} {
                    append field "\""
                    incr i
                } else {
                    set quoted 0
                }
            } else {
                append field $char
            }
        } elseif {$char eq "\""} {
            set quoted 1
        } elseif {$char eq $sep} {
            lappend fields $field
            set field ""
        } else {
            append field $char
        }
    }
    if {$quoted} {
        return -code error -errorcode {LEDGER CSV QUOTE} \
            "unterminated quoted field in \"$line\""
    }
    lappend fields $field
    return $fields
}

# ledger::csv::join --
#
#   Join fields into one record, quoting where needed.
#
# Arguments:
#   fields      list of field values
#   sep         the separator character, a comma by default
#
# Results:
#   Returns the record text.

proc ::ledger::csv::join {fields {sep ,}} {
    set out {}
    foreach field $fields {
        if {[string first $sep $field] >= 0
                || [string first "\"" $field] >= 0
                || [string first "\n" $field] >= 0} {
            set field "\"[string map {\" \"\"} $field]\""
        }
        lappend out $field
    }
    return [::join $out $sep]
}

# ledger::csv::parse --
#
#   Parse CSV text into records.  A quoted field may span lines.  Blank
#   lines and lines starting with # are skipped.
#
# Arguments:
#   text        the whole file contents
#   sep         the separator character
#
# Results:
#   Returns a list of records, each a list of fields.

proc ::ledger::csv::parse {text {sep ,}} {
    set records {}
    set pending ""
    foreach line [::split [string map {\r\n \n} $text] \n] {
        if {$pending ne ""} {
            set line "$pending\n$line"
            set pending ""
        } elseif {[string trim $line] eq "" || [string index $line 0] eq "#"} {
            continue
        }
        if {[regexp -all {"} $line] % 2 == 1} {
            set pending $line
            continue
        }
        lappend records [split $line $sep]
    }
    if {$pending ne ""} {
        return -code error -errorcode {LEDGER CSV QUOTE} \
            "unterminated quoted field at end of input"
    }
    return $records
}

# ledger::csv::format --
#
#   Format records as CSV text.
#
# Arguments:
#   records     list of records, each a list of fields
#   sep         the separator character
#
# Results:
#   Returns the text, one record per line, with a final newline.

proc ::ledger::csv::format {records {sep ,}} {
    set lines {}
    foreach record $records {
        lappend lines [join $record $sep]
    }
    return "[::join $lines \n]\n"
}

# ledger::csv::Columns --
#
#   Map the header record of a file to column positions and make sure
#   the required columns are present.
#
# Arguments:
#   header      the first record of the file
#   required    list of column names that must appear
#
# Results:
#   Returns a dictionary of column name to index.

proc ::ledger::csv::Columns {header required} {
    set columns [dict create]
    set index 0
    foreach name $header {
        dict set columns [string tolower [string trim $name]] $index
        incr index
    }
    foreach name $required {
        if {![dict exists $columns $name]} {
            return -code error -errorcode {LEDGER CSV HEADER} \
                "missing column \"$name\" in header \"[::join $header ,]\""
        }
    }
    return $columns
}

# ledger::csv::Field --
#
#   Read a named field from a record.
#
# Arguments:
#   columns     dictionary from Columns
#   record      the record
#   name        the column name
#
# Results:
#   Returns the trimmed field, or "" if the column is absent.

proc ::ledger::csv::Field {columns record name} {
    if {![dict exists $columns $name]} {
        return ""
    }
    return [string trim [lindex $record [dict get $columns $name]]]
}

# ledger::csv::importAccounts --
#
#   Create accounts from CSV text with the columns name, type and
#   optionally description and opened.
#
# Arguments:
#   text    the CSV text, header first
#
# Results:
#   Returns the number of accounts created.

proc ::ledger::csv::importAccounts {text} {
    set records [parse $text]
    if {[llength $records] == 0} {
        return 0
    }
    set columns [Columns [lindex $records 0] {name type}]
    set count 0
    foreach record [lrange $records 1 end] {
        ::ledger::accounts::create \
            [Field $columns $record name] \
            [Field $columns $record type] \
            -description [Field $columns $record description] \
            -opened [Field $columns $record opened]
        incr count
    }
    return $count
}

# ledger::csv::importJournal --
#
#   Post transactions from CSV text.  Consecutive rows with the same
#   date and reference make up one transaction; the description of
#   the first row is used.  References of the form "#n", written by
#   exportJournal, only group rows and are not stored.  Nothing is
#   posted if any row is bad.
#
# Arguments:
#   text    the CSV text, header first
#
# Results:
#   Returns the list of new transaction ids.

proc ::ledger::csv::importJournal {text} {
    set records [parse $text]
    if {[llength $records] == 0} {
        return {}
    }
    set columns [Columns [lindex $records 0] {date description account amount}]
    set groups {}
    set key {}
    set line 1
    foreach record [lrange $records 1 end] {
        incr line
        set date [Field $columns $record date]
        set reference [Field $columns $record reference]
        set amount [Field $columns $record amount]
        if {$amount ne ""} {
            if {[catch {::ledger::money::parse $amount} amount]} {
                return -code error -errorcode {LEDGER CSV ROW} "row $line: $amount"
            }
        }
        set posting [list [Field $columns $record account] $amount \
            [Field $columns $record memo]]
        if {[list $date $reference] eq $key && $reference ne ""} {
            lset groups end 3 [linsert [lindex $groups end 3] end $posting]
        } else {
            set key [list $date $reference]
            lappend groups [list $date $reference \
                [Field $columns $record description] [list $posting]]
        }
    }
    set saved [::ledger::journal::dump]
    set ids {}
    foreach group $groups {
        lassign $group date reference description postings
        if {[string index $reference 0] eq "#"} {
            set reference ""
        }
        if {[catch {::ledger::journal::post $date $description $postings \
                -reference $reference} result options]} {
            ::ledger::journal::restore $saved
            set prefix [string trim "$date [lindex $group 1]"]
            return -code error -errorcode [dict get $options -errorcode] \
                "transaction $prefix: $result"
        }
        lappend ids $result
    }
    return $ids
}

# ledger::csv::exportJournal --
#
#   Write transactions as CSV text, one row per posting.  Transactions
#   without a reference get "#id" so that they can be read back.
#
# Arguments:
#   args    options passed to ledger::journal::ids
#
# Results:
#   Returns the CSV text, header first.

proc ::ledger::csv::exportJournal {args} {
    variable journalHeader
    set records [list $journalHeader]
    foreach id [::ledger::journal::ids {*}$args] {
        set record [::ledger::journal::get $id]
        set reference [dict get $record reference]
        if {$reference eq ""} {
            set reference "#$id"
        }
        foreach posting [dict get $record postings] {
            lassign $posting account amount memo
            lappend records [list \
                [dict get $record date] \
                $reference \
                [dict get $record description] \
                $account \
                [::ledger::money::format $amount] \
                $memo]
        }
    }
    return [format $records]
}
