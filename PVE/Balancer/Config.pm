package PVE::Balancer::Config;

# The cluster-wide configuration /etc/pve/balancer.cfg, built on the engine's one option schema
# (PVE::Balancer::Native::option_schema, native/src/io/option_schema.cpp): key, type, range,
# default and description of every option live there and nowhere else. This module turns that
# schema into API parameter schemas, reads the file with the engine's parser and writes it back.
#
# Format: one "key: value" per line, '#' starts a comment. Reading never fails on the content:
#
#   - a key this version does not know (written by a newer package on another node during a
#     rolling upgrade, or a typo) is kept, written back unchanged and reported as a warning;
#   - a bad value is reported with its line and left out of the values (the default applies),
#     also written back unchanged until it is set or deleted; apply refuses to run while the
#     file has such errors (check_applicable), dry runs and GET answers show them.
#
# A loaded configuration is a hash:
#
#   { values => { key => canonical text }, unknown => { key => text as written },
#     errors => [ { line, key, message } ], duplicates => [ ... ], digest => SHA-1 of the file,
#     filename => '/etc/pve/balancer.cfg', raw => the file's text }
#
# This API is used by PVE::API2::Balancer, the planner and executor, pve-balancerd and the HA
# scheduler; keep it stable.

use strict;
use warnings;

use Digest::SHA;
use JSON;

use PVE::Balancer::Native;
use PVE::Balancer::Window;

my $config_file = 'balancer.cfg';
my $config_path = "/etc/pve/$config_file";

my $schema_cache;

# Text options (type 'text' in the engine's schema, which only bounds their length) and the
# module that reads what they mean: their values are checked here too, the same way for the API
# and for balancer.cfg.
my $text_checkers = {
    map { $_ => \&PVE::Balancer::Window::verify } @{ PVE::Balancer::Window::config_keys() },
};

my sub check_text {
    my ($key, $value) = @_;

    my $check = $text_checkers->{$key} or return;
    eval { $check->($key, $value) };
    if (my $err = $@) {
        $err =~ s/^\Q$key\E: //;
        die $err =~ m/\n$/ ? $err : "$err\n";
    }
}

=head3 schema()

The engine's option schema as a hash C<key => info> (C<type>, C<scope>, C<group>,
C<description>, C<expected>, C<default>, C<default-text>, C<minimum>, C<maximum>, C<enum>,
C<aliases>, C<unit>). Read once per process; callers must not change it.

=cut

sub schema {
    $schema_cache //= { map { $_->{key} => $_ } @{ PVE::Balancer::Native::option_schema() } };
    return $schema_cache;
}

=head3 option_names($scope)

The sorted names of all options, or only of C<$scope> (C<engine> or C<integration>).

=cut

sub option_names {
    my ($scope) = @_;

    my $schema = schema();
    return [sort grep { !defined($scope) || $schema->{$_}->{scope} eq $scope } keys %$schema];
}

=head3 engine_option_names()

The sorted names of the engine options (scope C<engine>: they are also API parameters of the
planning calls).

=cut

sub engine_option_names {
    return option_names('engine');
}

=head3 is_engine_option($key)

True if C<$key> is an engine option.

=cut

sub is_engine_option {
    my ($key) = @_;

    my $info = schema()->{$key};
    return $info && $info->{scope} eq 'engine' ? 1 : 0;
}

# A PVE::JSONSchema property for one option. The type, range and choices let pvesh and the API
# viewer document it and refuse obvious mistakes early; normalize() is the final judge.
my sub property {
    my ($info) = @_;

    my $type = $info->{type};
    my $prop = {
        description => $info->{description} . " ($info->{expected}.)",
        optional => 1,
    };
    if ($type eq 'boolean') {
        $prop->{type} = 'boolean';
    } elsif ($type eq 'integer' || $type eq 'number') {
        $prop->{type} = $type;
        $prop->{minimum} = $info->{minimum} if defined($info->{minimum});
        $prop->{maximum} = $info->{maximum} if defined($info->{maximum});
    } elsif ($type eq 'choice') {
        $prop->{type} = 'string';
        $prop->{enum} = [@{ $info->{enum} }, sort keys %{ $info->{aliases} // {} }];
    } elsif ($type eq 'node-list' || $type eq 'node_list') {
        $prop->{type} = 'string';
        $prop->{format} = 'pve-node-list';
    } elsif ($type eq 'text') {
        $prop->{type} = 'string';
        $prop->{maxLength} = $info->{'max-length'} // 512;
    } else { # size, storage-map: the engine's parser decides
        $prop->{type} = 'string';
        $prop->{maxLength} = 4096;
    }
    if (defined($info->{'default-text'})) {
        $prop->{default} = $type eq 'boolean' ? ($info->{default} ? 1 : 0) : $info->{default};
    }
    return $prop;
}

=head3 engine_option_schema()

JSON schema properties for every engine option, all optional: merge them into an API
method's parameters. Returns a fresh copy.

=cut

sub engine_option_schema {
    my $schema = schema();
    return { map { $_ => property($schema->{$_}) } @{ engine_option_names() } };
}

=head3 config_schema($optional)

JSON schema properties of every key of balancer.cfg (engine and integration options). All are
optional (the argument is kept for compatibility). Returns a fresh copy.

=cut

sub config_schema {
    my $schema = schema();
    return { map { $_ => property($schema->{$_}) } @{ option_names() } };
}

=head3 normalize($key, $value)

The canonical text of C<$value> for option C<$key> (C<yes> becomes C<1>, C<assigned>
becomes C<static>), checked strictly by the engine. Dies with C<"MESSAGE\n"> (without the key)
if the value does not fit or the key is unknown.

=cut

sub normalize {
    my ($key, $value) = @_;

    my $res = eval { PVE::Balancer::Native::normalize_option($key, $value) };
    if (my $err = $@) {
        $err =~ s/^\Q$key\E: //;
        die $err =~ m/\n$/ ? $err : "$err\n";
    }
    check_text($key, $res);
    return $res;
}

=head3 typed_value($key, $text)

The JSON value of an option's canonical text: booleans and numbers as such, everything else
(sizes, lists, choices) as text.

=cut

sub typed_value {
    my ($key, $text) = @_;

    my $info = schema()->{$key} // return "$text";
    my $type = $info->{type};
    if ($type eq 'boolean') {
        return $text ? JSON::true : JSON::false;
    } elsif ($type eq 'integer') {
        return int($text);
    } elsif ($type eq 'number') {
        return $text + 0;
    }
    return "$text";
}

=head3 defaults()

The engine's default of every option that has one, typed (see typed_value): the same values
C<pve-balancer options> prints.

=cut

sub defaults {
    my $schema = schema();
    my $res = {};
    for my $key (keys %$schema) {
        my $text = $schema->{$key}->{'default-text'};
        $res->{$key} = typed_value($key, $text) if defined($text) && length($text);
    }
    return $res;
}

=head3 parse_config($filename, $raw)

Reads the text of balancer.cfg with the engine's parser; never dies on the content. Returns a
loaded configuration (see the top of this file).

=cut

sub parse_config {
    my ($filename, $raw) = @_;

    $raw //= '';
    my $parsed = PVE::Balancer::Native::parse_config($raw);
    # text values the engine accepted but whose meaning is wrong are bad values too
    my $values = $parsed->{values} // {};
    for my $key (sort keys %$values) {
        next if !$text_checkers->{$key};
        eval { check_text($key, $values->{$key}) };
        my $err = $@ or next;
        chomp $err;
        my $line = 0;
        my $n = 0;
        for my $l (split(/\n/, $raw)) {
            $n++;
            next if $l !~ m/^\s*\Q$key\E\s*:/;
            $line = $n;
            last;
        }
        delete $values->{$key};
        push @{ $parsed->{errors} }, { line => $line, key => $key, message => $err };
    }
    $parsed->{errors} = [sort { $a->{line} <=> $b->{line} } @{ $parsed->{errors} // [] }];
    return {
        values => $parsed->{values} // {},
        unknown => $parsed->{unknown} // {},
        errors => $parsed->{errors} // [],
        duplicates => $parsed->{duplicates} // [],
        digest => Digest::SHA::sha1_hex($raw),
        filename => $filename // $config_path,
        raw => $raw,
    };
}

=head3 empty()

A loaded configuration without any key set (no file).

=cut

sub empty {
    return parse_config($config_path, '');
}

=head3 problems($cfg)

Lines that describe what is wrong with the file: bad values and lines (errors), unknown keys
and keys set twice (warnings). Returns C<(\@errors, \@warnings)>.

=cut

sub problems {
    my ($cfg) = @_;

    my $file = $cfg->{filename} // $config_path;
    my $errors = [
        map { "$file line $_->{line}: " . (defined($_->{key}) ? "$_->{key}: " : '') . $_->{message} }
            @{ $cfg->{errors} // [] }
    ];
    my $warnings = [
        (map { "$file: unknown key '$_' (kept; written by a newer version?)" }
            sort keys %{ $cfg->{unknown} // {} }),
        (map { "$file line $_->{line}: " . (defined($_->{key}) ? "$_->{key}: " : '')
            . $_->{message} } @{ $cfg->{duplicates} // [] }),
    ];
    return ($errors, $warnings);
}

=head3 check_applicable($cfg)

Dies with a message that names every error if the file has bad values: a plan must not run on
a configuration that is not what the administrator wrote.

=cut

sub check_applicable {
    my ($cfg) = @_;

    my ($errors) = problems($cfg);
    return if !@$errors;
    die "refusing to apply: $config_path has errors (fix them with 'pvesh set"
        . " /cluster/balance/config' or in the file): " . join('; ', @$errors) . "\n";
}

# The raw line of each bad value, by key, so writing the file keeps what the administrator
# wrote until they change that key.
my sub bad_lines {
    my ($cfg) = @_;

    my @lines = split(/\n/, $cfg->{raw} // '');
    my $res = {};
    for my $e (@{ $cfg->{errors} // [] }) {
        my $line = $lines[ $e->{line} - 1 ] // next;
        my $key = $e->{key};
        next if !defined($key) || exists($res->{$key});
        $res->{$key} = $line =~ s/^\s+|\s+$//gr;
    }
    return $res;
}

=head3 write_config($cfg)

The text of balancer.cfg for C<$cfg>: the values (sorted), then the unknown keys and the lines
with bad values as they were written.

=cut

sub write_config {
    my ($cfg) = @_;

    my $raw = "# pve-balancer cluster configuration, see 'pve-balancer options'\n";
    my $values = $cfg->{values} // {};
    for my $key (sort keys %$values) {
        my $value = $values->{$key};
        next if !defined($value) || $value eq '';
        die "value of '$key' must not contain a newline\n" if $value =~ m/\n/;
        $raw .= "$key: $value\n";
    }
    my $unknown = $cfg->{unknown} // {};
    $raw .= "$_: $unknown->{$_}\n" for sort keys %$unknown;
    my $bad = bad_lines($cfg);
    $raw .= "$bad->{$_}\n" for sort grep { !defined($values->{$_}) } keys %$bad;
    return $raw;
}

=head3 update($cfg, $set, $delete)

A new configuration text: C<$cfg> with the keys of C<$set> (canonical text, see normalize)
set and the keys in C<$delete> removed (known, unknown or bad alike). Returns the text.

=cut

sub update {
    my ($cfg, $set, $delete) = @_;

    my $new = {
        values => { %{ $cfg->{values} // {} } },
        unknown => { %{ $cfg->{unknown} // {} } },
        raw => $cfg->{raw},
    };
    my %gone = map { $_ => 1 } @$delete;
    $new->{errors} = [grep { !defined($_->{key}) || (!$gone{ $_->{key} }
        && !exists($set->{ $_->{key} })) } @{ $cfg->{errors} // [] }];
    for my $key (@$delete) {
        delete $new->{values}->{$key};
        delete $new->{unknown}->{$key};
    }
    $new->{values}->{$_} = $set->{$_} for keys %$set;
    return write_config($new);
}

=head3 load($env)

Reads and parses balancer.cfg through the environment. An absent file is an empty
configuration.

=cut

sub load {
    my ($env) = @_;

    my $raw = $env->read_cfs_file($config_file);
    return parse_config($config_path, $raw);
}

=head3 save($env, $text)

Writes the text of balancer.cfg (from update() or write_config()) through the environment.

=cut

sub save {
    my ($env, $text) = @_;

    $env->write_cfs_file($config_file, $text);
}

=head3 effective($cfg)

Every option with a value: the defaults, overridden by the values of C<$cfg>, typed (see
typed_value).

=cut

sub effective {
    my ($cfg) = @_;

    my $res = defaults();
    my $values = $cfg->{values} // {};
    $res->{$_} = typed_value($_, $values->{$_}) for keys %$values;
    return $res;
}

=head3 engine_options($cfg)

The engine options set in C<$cfg>, as they go into a snapshot's C<options> object, and
C<capacity-target> (the engine caps C<keep-ha-capacity>'s default with it).

=cut

sub engine_options {
    my ($cfg) = @_;

    my $values = $cfg->{values} // {};
    return { map { $_ => typed_value($_, $values->{$_}) }
        grep { is_engine_option($_) || $_ eq 'capacity-target' } sort keys %$values };
}

1;
