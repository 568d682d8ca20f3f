# util.tcl --
#
#   Small helpers shared by the other ledger namespaces: argument
#   validation, option parsing and dictionary access.  Errors raised
#   here carry an error code starting with LEDGER.

namespace eval ::ledger::util {
    namespace export checkName checkOneOf checkInteger checkPositive \
        getDefault options
}

# ledger::util::checkName --
#
#   Check that a value is a valid colon separated name such as
#   "assets:bank:checking".  Each segment must start with a letter and
#   may contain letters, digits, dashes and underscores.
#
# Arguments:
#   what      word used in the error message, e.g. "account name"
#   value     the value to check
#
# Results:
#   Returns the value, or raises an error if it is not well formed.

proc ::ledger::util::checkName {what value} {
    if {$value eq ""} {
        return -code error -errorcode {LEDGER NAME} "$what must not be empty"
    }
    foreach segment [split $value :] {
        if {![regexp {^[A-Za-z][A-Za-z0-9_-]*$} $segment]} {
            return -code error -errorcode {LEDGER NAME} \
                "invalid $what \"$value\": bad segment \"$segment\""
        }
    }
    return $value
}

# ledger::util::checkOneOf --
#
#   Check that a value is one of a fixed set of words.
#
# Arguments:
#   what      word used in the error message
#   value     the value to check
#   choices   list of allowed values
#
# Results:
#   Returns the value, or raises an error listing the choices.

proc ::ledger::util::checkOneOf {what value choices} {
    if {$value ni $choices} {
        return -code error -errorcode {LEDGER CHOICE} \
            "bad $what \"$value\": must be one of [join $choices {, }]"
    }
    return $value
}

# ledger::util::checkInteger --
#
#   Check that a value is a (possibly negative) decimal integer.
#
# Arguments:
#   what      word used in the error message
#   value     the value to check
#
# Results:
#   Returns the value as a canonical integer.

proc ::ledger::util::checkInteger {what value} {
    if {![regexp {^-?[0-9]+$} $value]} {
        return -code error -errorcode {LEDGER INTEGER} \
            "$what must be an integer, got \"$value\""
    }
    return [scan $value %d]
}

# ledger::util::checkPositive --
#
#   Check that a value is an integer greater than zero.
#
# Arguments:
#   what      word used in the error message
#   value     the value to check
#
# Results:
#   Returns the value as a canonical integer.

proc ::ledger::util::checkPositive {what value} {
    set n [checkInteger $what $value]
    if {$n <= 0} {
        return -code error -errorcode {LEDGER INTEGER} \
            "$what must be positive, got $n"
    }
    return $n
}

# ledger::util::getDefault --
#
#   Read a key from a dictionary, falling back to a default value when
#   the key is missing.
#
# Arguments:
#   dictValue   the dictionary
#   key         key to look up
#   default     value returned when the key is absent
#
# Results:
#   Returns the stored value or the default.

proc ::ledger::util::getDefault {dictValue key default} {
    if {[dict exists $dictValue $key]} {
        return [dict get $dictValue $key]
    }
    return $default
}

# ledger::util::options --
#
#   Parse "-name value" style options against a dictionary of defaults.
#   Unknown options and missing values are reported as errors.
#
# Arguments:
#   defaults    dictionary mapping option names (with dash) to defaults
#   arguments   the list of words passed by the caller
#
# Results:
#   Returns a dictionary with one entry per known option.

proc ::ledger::util::options {defaults arguments} {
    if {[llength $arguments] % 2 != 0} {
        return -code error -errorcode {LEDGER OPTION} \
            "missing value for option \"[lindex $arguments end]\""
    }
    set result $defaults
    foreach {name value} $arguments {
        if {![dict exists $defaults $name]} {
            set known [join [lsort [dict keys $defaults]] {, }]
            return -code error -errorcode {LEDGER OPTION} \
                "unknown option \"$name\": must be one of $known"
        }
        dict set result $name $value
    }
    return $result
}
