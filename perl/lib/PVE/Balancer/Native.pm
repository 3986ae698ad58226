package PVE::Balancer::Native;

# Perl binding of the pve-balancer engine. Every call goes through pvebal::execute(), the entry
# point the pve-balancer CLI uses, so Perl and the CLI give the same answers.
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

use JSON ();
use Scalar::Util qw(blessed reftype);

require XSLoader;
XSLoader::load('PVE::Balancer::Native');

my $json = JSON->new->canonical->utf8;

=head1 NAME

PVE::Balancer::Native - score, balance, evacuate and fail over a Proxmox VE cluster from Perl

=head1 SYNOPSIS

    use PVE::Balancer::Native;

    my $resources = PVE::API2Tools::...;   # what /cluster/resources returns, or a JSON string
    my $score = PVE::Balancer::Native::score($resources);
    my $plan  = PVE::Balancer::Native::plan($resources, 'max-migrations' => 5);
    my $drain = PVE::Balancer::Native::evacuate($resources, node => ['pve2']);

=head1 DESCRIPTION

Each function takes the cluster snapshot first, then the arguments of the matching
C<pve-balancer> CLI command as C<< key => value >> pairs, named like the CLI flags without the
leading C<-->: the command's own arguments (C<node>, C<failed-node>, C<all-guests>,
C<target-failures>, C<max-scenarios>, C<vmid>, C<cpu>, C<mem>, C<tags>, C<apart-from>) and any
engine option (docs/options.md, e.g. C<max-migrations>, C<memory-limit>). It returns the
answer as Perl data: exactly what C<pve-balancer COMMAND --output-format json> prints, decoded.

B<The snapshot> is an array reference (the C</cluster/resources> list), a hash reference (the
C<{"data": [...]}> wrapper or the extended snapshot of docs/snapshot.md) or a JSON string (UTF-8
bytes as read from a file, or a Perl character string). Perl data is encoded with
C<< JSON->new->canonical->utf8 >>, so JSON.pm's usual rule applies: a number that was last
used as a string is encoded as a string, which the snapshot reader rejects where it expects a
number. Data straight from C<decode_json> or the PVE API is fine.

B<Argument values> are strings or numbers; an array reference is joined with commas (node
lists such as C<< node => ['pve1', 'pve2'] >>); JSON booleans become C<1>/C<0>; a hash reference
is accepted for C<storage-map> (C<< { 'local-zfs' => 'local-lvm' } >>); an C<undef> value is the
same as leaving the argument out.

B<Errors> die with a C<PVE::Balancer::Native::Error> object: C<< $err->path >> names the
snapshot field (C<resources[7].maxmem>) or the argument (C<node>, C<max-migrations>) that is
wrong (empty for internal errors), C<< $err->message >> says what was expected. It stringifies
to one line, C<"pve-balancer: PATH: MESSAGE\n">, so callers that match the text keep working:

    my $plan = eval { PVE::Balancer::Native::plan($snapshot, node => 'x') };
    if (my $err = $@) {
        die $err if !PVE::Balancer::Native::Error::is_error($err);
        raise_param_exc({ $err->path => $err->message }) if $err->path eq 'node';
    }

An infeasible request is not an error: it is reported in the answer (C<unplaced>, C<reasons>).

=head1 FUNCTIONS

=cut

sub _die {
    my ($path, $message) = @_;
    die PVE::Balancer::Native::Error->new($path, $message);
}

sub _describe_ref {
    my ($value) = @_;
    my $type = reftype($value) // 'SCALAR';
    return blessed($value) ? "a $type reference blessed into " . ref($value) : "a $type reference";
}

sub _snapshot_text {
    my ($snapshot) = @_;

    _die('snapshot', 'required') if !defined($snapshot);
    if (!ref($snapshot)) {
        my $text = $snapshot;
        utf8::encode($text) if utf8::is_utf8($text);
        return $text;
    }
    my $type = reftype($snapshot) // '';
    if ($type eq 'ARRAY' || $type eq 'HASH') {
        my $text = eval { $json->encode($snapshot) };
        if (my $err = $@) {
            $err =~ s/ at \S+ line \d+\.?\n?\z//;
            chomp $err;
            _die('snapshot', "cannot encode as JSON: $err");
        }
        return $text;
    }
    _die('snapshot', 'expected an ARRAY or HASH reference or a JSON string, got '
        . _describe_ref($snapshot));
}

sub _arg_text {
    my ($key, $value) = @_;

    return "$value" if !ref($value);
    return $value ? '1' : '0' if JSON::is_bool($value);
    my $type = reftype($value) // '';
    if ($type eq 'ARRAY' && !blessed($value)) {
        my @items;
        for my $item (@$value) {
            _die($key, 'expected a list of strings, got a list containing '
                . (defined($item) ? _describe_ref($item) : 'undef'))
                if !defined($item) || ref($item);
            push @items, "$item";
        }
        return join(',', @items);
    }
    if ($type eq 'HASH' && !blessed($value) && $key eq 'storage-map') {
        my @pairs;
        for my $from (sort keys %$value) {
            my $to = $value->{$from};
            _die($key, "expected storage names, got a non-string for '$from'")
                if !defined($to) || ref($to);
            push @pairs, "$from:$to";
        }
        return join(',', @pairs);
    }
    _die($key, 'expected a string, a number or a list of strings, got ' . _describe_ref($value));
}

sub _args {
    my @args = @_;

    _die('arguments', 'expected KEY => VALUE pairs (an odd number of values was given)')
        if @args % 2;
    my $flat = {};
    while (@args) {
        my ($key, $value) = splice(@args, 0, 2);
        _die('arguments', 'an argument name is undefined') if !defined($key);
        _die('arguments', 'an argument name is ' . _describe_ref($key)) if ref($key);
        next if !defined($value);
        $flat->{$key} = _arg_text($key, $value);
    }
    return $flat;
}

=head3 execute($command, $snapshot, %args)

Runs any engine command by name (C<score>, C<plan>, C<evacuate>, C<failover>, C<capacity>,
C<place>); the functions below are shorthands for it. An unknown command dies with
C<"pve-balancer: command: unknown command 'NAME'\n">.

=cut

sub execute {
    my ($command, $snapshot, @args) = @_;

    _die('command', 'expected a command name, got ' . (defined($command) ? _describe_ref($command) : 'undef'))
        if !defined($command) || ref($command);
    my $text = _snapshot_text($snapshot);
    my $args = _args(@args);
    my $out = _execute("$command", $text, $args);
    return $json->decode($out);
}

=head3 version()

The engine version, e.g. C<"0.1.0">.

=cut

sub version {
    return _version();
}

=head3 option_schema()

Every option pve-balancer knows, as an array reference of hashes sorted by C<key>: C<key>,
C<type> (C<boolean>, C<integer>, C<number>, C<size>, C<choice>, C<node-list>, C<storage-map>),
C<scope> (C<engine>: read by the planners; C<integration>: read by the API, executor, HA
scheduler or daemon), C<group>, C<description>, C<expected> (for messages), C<default> (typed,
C<undef> when unset), C<default-text> (as written in balancer.cfg), C<minimum>/C<maximum>
(numbers and sizes), C<unit>, C<enum> and C<aliases> (choices). The same table as
C<pve-balancer options --output-format json>. A fresh copy on every call.

=cut

my $schema_text;

sub option_schema {
    $schema_text //= _option_schema_json();
    return $json->decode($schema_text);
}

=head3 parse_config($text)

Reads the text of F</etc/pve/balancer.cfg> (C<key: value> lines) against the option schema.
Never dies on the content: returns C<< { values => {key => canonical text}, unknown => {key =>
text}, errors => [{line, key, message}], duplicates => [...] } >>. Unknown keys are kept (a
newer version may have written them); a bad value or line is reported and left out of
C<values>.

=cut

sub parse_config {
    my ($text) = @_;
    $text //= '';
    utf8::encode($text) if utf8::is_utf8($text);
    return $json->decode(_parse_config_json($text));
}

=head3 normalize_option($key, $value)

The canonical text of C<$value> for option C<$key> (C<yes> becomes C<1>, C<assigned> becomes
C<static>). Dies with C<"KEY: expected ..., got ...\n"> on an unknown key or a value that does
not fit.

=cut

sub normalize_option {
    my ($key, $value) = @_;
    my $res = eval { _normalize_option($key, defined($value) ? "$value" : undef) };
    if (my $err = $@) {
        $err =~ s/^pve-balancer: //;
        die $err;
    }
    return $res;
}

=head3 score($snapshot, %args)

Node utilisation, the balance metrics (C<metrics.objective>, C<metrics.imbalance>) and
warnings; C<pve-balancer score>.

=cut

sub score {
    my ($snapshot, @args) = @_;
    return execute('score', $snapshot, @args);
}

=head3 plan($snapshot, %args)

A balance plan: ordered, safe migrations (C<moves>, C<waves>) with the metrics before and after;
C<pve-balancer plan>. E.g. C<< plan($s, 'max-migrations' => 5, threshold => 0.05) >>.

=cut

sub plan {
    my ($snapshot, @args) = @_;
    return execute('plan', $snapshot, @args);
}

=head3 evacuate($snapshot, node => 'pve1,pve2' | ['pve1', 'pve2'], %args)

Drains the given nodes: where each guest goes, or why it cannot leave; C<pve-balancer evacuate>.

=cut

sub evacuate {
    my ($snapshot, @args) = @_;
    return execute('evacuate', $snapshot, @args);
}

=head3 failover($snapshot, 'failed-node' => NODES, ['all-guests' => 1], %args)

Where HA guests restart when the given nodes fail; C<pve-balancer failover>.

=cut

sub failover {
    my ($snapshot, @args) = @_;
    return execute('failover', $snapshot, @args);
}

=head3 capacity($snapshot, ['target-failures' => K], ['all-guests' => 1], ['max-scenarios' => N], %args)

How many node failures the HA guests survive (N+k); C<pve-balancer capacity>.

=cut

sub capacity {
    my ($snapshot, @args) = @_;
    return execute('capacity', $snapshot, @args);
}

=head3 place($snapshot, vmid => ID | cpu => CORES, mem => SIZE [, tags => TAGS], ['apart-from' => IDS], %args)

Ranks the nodes for an existing guest or a new one (C<< mem => '8G' >>); C<pve-balancer place>.

=cut

sub place {
    my ($snapshot, @args) = @_;
    return execute('place', $snapshot, @args);
}

1;

package PVE::Balancer::Native::Error;

# An engine error: {path, message}. Created by the XS glue (perl/glue/common.h) and by the
# argument checks above; stringifies to the one-line text these errors always had.

use strict;
use warnings;

use Scalar::Util qw(blessed);

use overload
    '""' => \&as_string,
    'bool' => sub { 1 },
    fallback => 1;

=head2 PVE::Balancer::Native::Error

=head3 PVE::Balancer::Native::Error->new($path, $message)

An error about C<$path> (a JSON path or an argument name; empty when about nothing in
particular).

=cut

sub new {
    my ($class, $path, $message) = @_;
    return bless { path => $path // '', message => $message // '' }, $class;
}

=head3 $err->path, $err->message

=cut

sub path { return $_[0]->{path} }
sub message { return $_[0]->{message} }

=head3 $err->as_string

C<"pve-balancer: PATH: MESSAGE\n">, or C<"pve-balancer: MESSAGE\n"> without a path.

=cut

sub as_string {
    my ($self) = @_;
    my $where = $self->{path} ne '' ? "$self->{path}: " : '';
    return "pve-balancer: $where$self->{message}\n";
}

=head3 PVE::Balancer::Native::Error::is_error($value)

True when C<$value> (e.g. C<$@>) is such an error.

=cut

sub is_error {
    my ($value) = @_;
    return blessed($value) && $value->isa(__PACKAGE__) ? 1 : 0;
}

1;

=head1 SEE ALSO

docs/perl.md, docs/cli.md, docs/options.md, L<PVE::Balancer::HAScheduler>.

=head1 LICENSE

AGPL-3.0-or-later.

=cut
