package PVE::JSONSchema;

# Test double of pve-common's PVE::JSONSchema (src/PVE/JSONSchema.pm): the part of PVE's schema language the balancer
# uses, with the same error reporting (PVE::Exception, code 400, errors keyed by the property
# path, e.g. "max-migrations" or "migrations[0].vmid").
#
# Supported: type (string, integer, number, boolean, object, array, null, any, or a list of
# types), optional, enum, pattern (anchored), format (registered formats, "-list" variants),
# minimum, maximum, minLength, maxLength, properties, additionalProperties, items, oneOf.
# Defaults are not applied, as in PVE: handlers apply them.

use strict;
use warnings;
use feature qw(current_sub);

use HTTP::Status qw(:constants);
use JSON;

use PVE::Exception qw(raise);

use base 'Exporter';
our @EXPORT_OK = qw(register_standard_option get_standard_option);

my $standard_options = {};
my $formats = {};

sub register_standard_option {
    my ($name, $schema) = @_;

    die "standard option '$name' already registered\n" if $standard_options->{$name};
    $standard_options->{$name} = $schema;
}

sub get_standard_option {
    my ($name, $base) = @_;

    my $std = $standard_options->{$name} or die "no such standard option '$name'\n";
    my $res = { %{ $base // {} } };
    for my $key (keys %$std) {
        $res->{$key} = $std->{$key} if !defined($res->{$key});
    }
    return $res;
}

sub register_format {
    my ($name, $format) = @_;

    die "JSON schema format '$name' already registered\n" if $formats->{$name};
    $formats->{$name} = $format;
}

sub get_format {
    my ($name) = @_;
    return $formats->{$name};
}

sub pve_verify_vmid {
    my ($vmid, $noerr) = @_;

    return $vmid if $vmid =~ m/^[1-9][0-9]{2,8}$/;
    return undef if $noerr;
    die "value does not look like a valid VM ID\n";
}

sub pve_verify_node_name {
    my ($node, $noerr) = @_;

    return $node if $node =~ m/^[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?$/;
    return undef if $noerr;
    die "value does not look like a valid node name\n";
}

sub pve_verify_configid {
    my ($id, $noerr) = @_;

    return $id if $id =~ m/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
    return undef if $noerr;
    die "invalid configuration ID '$id'\n";
}

register_format('pve-vmid', \&pve_verify_vmid);
register_format('pve-node', \&pve_verify_node_name);
register_format('pve-configid', \&pve_verify_configid);
register_format('string', sub { });

register_standard_option('pve-vmid', {
    description => "The (unique) ID of the VM.",
    type => 'integer',
    format => 'pve-vmid',
    minimum => 100,
    maximum => 999_999_999,
});
register_standard_option('pve-node', {
    description => "The cluster node name.",
    type => 'string',
    format => 'pve-node',
});
register_standard_option('pve-node-list', {
    description => "List of cluster node names.",
    type => 'string',
    format => 'pve-node-list',
});
register_standard_option('pve-config-digest', {
    description => 'Prevent changes if current configuration file has a different digest.',
    type => 'string',
    optional => 1,
    maxLength => 64,
});
register_standard_option('pve-output-format', {
    type => 'string',
    description => 'Output format.',
    enum => ['text', 'json', 'json-pretty', 'yaml'],
    optional => 1,
    default => 'text',
});

sub split_list {
    my ($text) = @_;

    $text //= '';
    return split(/\0/, $text) if $text =~ m/\0/;
    $text =~ s/[,;]/ /g;
    $text =~ s/^\s+//;
    return split(/\s+/, $text);
}

sub check_format {
    my ($format, $value) = @_;

    return if $format eq 'regex';
    my ($name, $kind) = $format =~ m/^(.*?)(?:-(list|opt))?$/;
    my $check = $formats->{$name} or die "undefined format '$format'\n";
    if (($kind // '') eq 'list') {
        $check->($_) for split_list($value);
    } elsif (($kind // '') eq 'opt') {
        $check->($value) if $value;
    } else {
        $check->($value);
    }
}

my sub add_error {
    my ($errors, $path, $msg) = @_;

    $path = '_root' if !defined($path) || $path eq '';
    $errors->{$path} = defined($errors->{$path}) ? "$errors->{$path}\n$msg" : $msg;
}

sub is_number {
    my ($value) = @_;
    return $value =~ m/^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?$/;
}

sub is_integer {
    my ($value) = @_;
    return $value =~ m/^[+-]?\d+$/;
}

my sub type_ok {
    my ($type, $value) = @_;

    return 1 if !defined($type) || $type eq 'any';
    if (ref($type) eq 'ARRAY') {
        for my $t (@$type) {
            return 1 if __SUB__->($t, $value);
        }
        return 0;
    }
    return !defined($value) if $type eq 'null';
    return 0 if !defined($value);

    my $ref = ref($value);
    return $ref eq 'ARRAY' if $type eq 'array';
    return $ref eq 'HASH' if $type eq 'object';
    if ($ref) {
        return $type eq 'boolean' && JSON::is_bool($value);
    }
    return $value eq '0' || $value eq '1' if $type eq 'boolean';
    return is_integer($value) if $type eq 'integer';
    return is_number($value) if $type eq 'number';
    return 1; # string and unknown types
}

sub check_prop {
    my ($value, $schema, $path, $errors) = @_;

    if (my $alternatives = $schema->{oneOf}) {
        for my $alt (@$alternatives) {
            my $e = {};
            check_prop($value, $alt, $path, $e);
            return if !%$e;
        }
        add_error($errors, $path, "value does not match any of the alternatives");
        return;
    }

    if (!defined($value)) {
        return if ($schema->{type} // '') eq 'null';
        return if ref($schema->{type}) eq 'ARRAY' && grep { $_ eq 'null' } $schema->{type}->@*;
        add_error($errors, $path, "property is missing and it is not optional")
            if !$schema->{optional};
        return;
    }

    if (!type_ok($schema->{type}, $value)) {
        my $type = ref($schema->{type}) ? join('|', $schema->{type}->@*) : $schema->{type};
        my $got = ref($value) ? " - got " . ref($value) : " - got '$value'";
        add_error($errors, $path, "type check ('$type') failed$got");
        return;
    }

    if (ref($value) eq 'ARRAY') {
        if (my $items = $schema->{items}) {
            for my $i (0 .. $#$value) {
                check_prop($value->[$i], $items, "${path}[$i]", $errors);
            }
        }
        return;
    }

    if (ref($value) eq 'HASH') {
        my $props = $schema->{properties} // {};
        for my $key (sort keys %$props) {
            check_prop($value->{$key}, $props->{$key}, $path ? "$path.$key" : $key, $errors);
        }
        my $additional = $schema->{additionalProperties};
        for my $key (sort keys %$value) {
            next if $props->{$key};
            my $p = $path ? "$path.$key" : $key;
            if (defined($additional) && !ref($additional) && !$additional) {
                add_error($errors, $p, "property is not defined in schema and the schema does"
                    . " not allow additional properties");
            } elsif (ref($additional)) {
                check_prop($value->{$key}, $additional, $p, $errors);
            }
        }
        return;
    }

    return if ref($value); # JSON booleans

    if (my $format = $schema->{format}) {
        eval { check_format($format, $value) };
        if (my $err = $@) {
            add_error($errors, $path, "invalid format - $err");
            return;
        }
    }
    if (defined(my $pattern = $schema->{pattern})) {
        if ($value !~ m/^$pattern$/) {
            add_error($errors, $path, "value does not match the regex pattern");
            return;
        }
    }
    if (defined(my $max = $schema->{maxLength})) {
        if (length($value) > $max) {
            add_error($errors, $path, "value may only be $max characters long");
            return;
        }
    }
    if (defined(my $min = $schema->{minLength})) {
        if (length($value) < $min) {
            add_error($errors, $path, "value must be at least $min characters long");
            return;
        }
    }
    if (is_number($value)) {
        if (defined(my $max = $schema->{maximum})) {
            if ($value > $max) {
                add_error($errors, $path, "value must have a maximum value of $max");
                return;
            }
        }
        if (defined(my $min = $schema->{minimum})) {
            if ($value < $min) {
                add_error($errors, $path, "value must have a minimum value of $min");
                return;
            }
        }
    }
    if (my $enum = $schema->{enum}) {
        if (!grep { $_ eq $value } @$enum) {
            add_error($errors, $path, "value '$value' does not have a value in the enumeration '"
                . join(', ', @$enum) . "'");
        }
    }
}

sub validate {
    my ($instance, $schema, $errmsg) = @_;

    my $errors = {};
    $errmsg //= "Parameter verification failed.\n";
    check_prop($instance, $schema, '', $errors) if $schema;
    raise($errmsg, code => HTTP_BAD_REQUEST, errors => $errors) if %$errors;
    return 1;
}

1;
