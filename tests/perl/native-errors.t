#!/usr/bin/perl
# PVE::Balancer::Native error paths: every bad input dies with one line
# "pve-balancer: PATH: MESSAGE\n" and leaves the module usable; nothing crashes.
use strict;
use warnings;
use Test::More;
use JSON ();

require './tests/perl/helpers.pl';
our $CLI;
use PVE::Balancer::Native;

my $demo = slurp('docs/examples/demo-cluster.json');
my $N = 'PVE::Balancer::Native';

sub dies_with {
    my ($code, $expected, $name) = @_;
    my $err = error_of($code);
    if (ref($expected) eq 'Regexp') {
        like($err, $expected, $name);
    } else {
        is($err, $expected, $name);
    }
    unlike($err, qr/ at \S+ line \d+/, "$name: no Perl location");
    like($err, qr/\A[^\n]+\n\z/, "$name: one line ending in a newline");
}

# --- the snapshot --------------------------------------------------------------------------
dies_with(sub { PVE::Balancer::Native::score(undef) }, "pve-balancer: snapshot: required\n",
    'undef snapshot');
dies_with(sub { PVE::Balancer::Native::score(sub { 1 }) },
    "pve-balancer: snapshot: expected an ARRAY or HASH reference or a JSON string, got a CODE reference\n",
    'code reference as snapshot');
dies_with(sub { PVE::Balancer::Native::score(\"[]") },
    "pve-balancer: snapshot: expected an ARRAY or HASH reference or a JSON string, got a SCALAR reference\n",
    'scalar reference as snapshot');
dies_with(sub { PVE::Balancer::Native::score([{ type => 'node', node => sub { 1 } }]) },
    qr/^pve-balancer: snapshot: cannot encode as JSON: /, 'unencodable Perl data');
dies_with(sub { PVE::Balancer::Native::score('[') }, qr/^pve-balancer: snapshot: invalid JSON/,
    'invalid JSON text');
dies_with(sub { PVE::Balancer::Native::score('') }, qr/^pve-balancer: snapshot: /, 'empty text');
dies_with(sub { PVE::Balancer::Native::score({}) }, qr/^pve-balancer: /, 'empty object');
dies_with(sub { PVE::Balancer::Native::score([{ type => 'node', node => 'a', status => 'online', maxcpu => 4, maxmem => '8G' }]) },
    "pve-balancer: resources[0].maxmem: expected a non-negative integer (bytes), got \"8G\"\n",
    'a field of the wrong type names its path');

# Every rejected snapshot of tests/malformed gives the CLI's message.
for my $file (sort glob('tests/malformed/*.json')) {
    my $cmd = join(' ', map { quotemeta } $CLI, 'score', '--snapshot', $file);
    my $cli_err = `$cmd 2>&1 >/dev/null`;
    my $text = slurp($file);
    my $err = error_of(sub { PVE::Balancer::Native::score($text) });
    is($err, $cli_err, "$file: same message as the CLI");
}

# --- arguments -----------------------------------------------------------------------------
dies_with(sub { PVE::Balancer::Native::score($demo, 'max-migrations') },
    "pve-balancer: arguments: expected KEY => VALUE pairs (an odd number of values was given)\n",
    'odd argument list');
dies_with(sub { PVE::Balancer::Native::score($demo, undef, 1) },
    "pve-balancer: arguments: an argument name is undefined\n", 'undef argument name');
dies_with(sub { PVE::Balancer::Native::score($demo, [], 1) },
    "pve-balancer: arguments: an argument name is a ARRAY reference\n", 'reference as argument name');
dies_with(sub { PVE::Balancer::Native::evacuate($demo, node => {}) },
    "pve-balancer: node: expected a string, a number or a list of strings, got a HASH reference\n",
    'hash reference where a string is expected');
dies_with(sub { PVE::Balancer::Native::evacuate($demo, node => sub { 1 }) },
    "pve-balancer: node: expected a string, a number or a list of strings, got a CODE reference\n",
    'code reference where a string is expected');
dies_with(sub { PVE::Balancer::Native::evacuate($demo, node => ['pve1', {}]) },
    "pve-balancer: node: expected a list of strings, got a list containing a HASH reference\n",
    'list with a reference in it');
dies_with(sub { PVE::Balancer::Native::evacuate($demo, node => ['pve1', undef]) },
    "pve-balancer: node: expected a list of strings, got a list containing undef\n",
    'list with undef in it');
dies_with(sub { PVE::Balancer::Native::evacuate($demo, node => bless({}, 'Foo')) },
    "pve-balancer: node: expected a string, a number or a list of strings, got a HASH reference blessed into Foo\n",
    'object where a string is expected');
dies_with(sub { PVE::Balancer::Native::evacuate($demo) },
    "pve-balancer: node: required: NODE[,NODE...]\n", 'missing required argument');
dies_with(sub { PVE::Balancer::Native::evacuate($demo, node => 'nope') },
    "pve-balancer: node: unknown node \"nope\"\n", 'unknown node');
dies_with(sub { PVE::Balancer::Native::failover($demo, 'failed-node' => ['pve1', 'nope']) },
    "pve-balancer: failed-node: unknown node \"nope\"\n", 'unknown node in a list');
dies_with(sub { PVE::Balancer::Native::score($demo, frobnicate => 1) },
    "pve-balancer: frobnicate: unknown option\n", 'unknown option');
dies_with(sub { PVE::Balancer::Native::score($demo, '--max-migrations' => 1) },
    "pve-balancer: --max-migrations: unknown option\n", 'names are given without --');
dies_with(sub { PVE::Balancer::Native::score($demo, 'cpu-limit' => 7) },
    "pve-balancer: cpu-limit: expected a fraction from 0.05 to 1, got 7\n", 'option out of range');
dies_with(sub { PVE::Balancer::Native::capacity($demo, 'target-failures' => 'x') },
    "pve-balancer: target-failures: expected an integer from 1 to 64, got 'x'\n",
    'bad integer argument');
dies_with(sub { PVE::Balancer::Native::capacity($demo, 'all-guests' => 'maybe') },
    "pve-balancer: all-guests: expected a boolean (0, 1, true or false), got 'maybe'\n",
    'bad boolean argument');
dies_with(sub { PVE::Balancer::Native::place($demo, vmid => 101, cpu => 1) },
    "pve-balancer: vmid: excludes cpu and mem (those describe a new guest)\n",
    'vmid with cpu');
dies_with(sub { PVE::Balancer::Native::place($demo, vmid => 999999) },
    "pve-balancer: vmid: no guest 999999 in the snapshot\n", 'unknown vmid');
dies_with(sub { PVE::Balancer::Native::place($demo, cpu => 1, mem => 'lots') },
    qr/^pve-balancer: mem: expected bytes or a size like 8G, got 'lots'\n/, 'bad size');
dies_with(sub { PVE::Balancer::Native::score($demo, 'maintenance-nodes' => ['nope']) },
    qr/^pve-balancer: maintenance-nodes: unknown node "nope"\n/, 'bad maintenance node');

# storage-map as a hash equals the string form.
is_deeply(PVE::Balancer::Native::plan($demo, 'storage-map' => { 'local-zfs' => 'local-lvm' }),
    PVE::Balancer::Native::plan($demo, 'storage-map' => 'local-zfs:local-lvm'),
    'storage-map as a hash');
# Booleans: JSON booleans and plain 0/1.
is_deeply(PVE::Balancer::Native::failover($demo, 'failed-node' => 'pve1', 'all-guests' => JSON::false),
    PVE::Balancer::Native::failover($demo, 'failed-node' => 'pve1', 'all-guests' => 0),
    'JSON::false is 0');

# --- commands ------------------------------------------------------------------------------
dies_with(sub { PVE::Balancer::Native::execute('frobnicate', $demo) },
    "pve-balancer: command: unknown command 'frobnicate'\n", 'unknown command');
dies_with(sub { PVE::Balancer::Native::execute(undef, $demo) },
    "pve-balancer: command: expected a command name, got undef\n", 'undef command');
dies_with(sub { PVE::Balancer::Native::execute({}, $demo) },
    "pve-balancer: command: expected a command name, got a HASH reference\n",
    'hash reference as command');

# --- the XS entry itself, misused directly -------------------------------------------------
dies_with(sub { PVE::Balancer::Native::_execute('score', $demo, []) },
    "pve-balancer: arguments: expected a HASH reference\n", 'XS: arguments not a hash');
dies_with(sub { PVE::Balancer::Native::_execute('score', $demo, { node => [] }) },
    "pve-balancer: node: expected a string, got an ARRAY reference\n", 'XS: argument not a string');
dies_with(sub { PVE::Balancer::Native::_execute('score', $demo, { node => undef }) },
    "pve-balancer: node: expected a string, got undef\n", 'XS: undef argument');
dies_with(sub { PVE::Balancer::Native::_execute([], $demo, {}) },
    "pve-balancer: command: expected a string, got an ARRAY reference\n", 'XS: command not a string');
dies_with(sub { PVE::Balancer::Native::_execute('score', {}, {}) },
    "pve-balancer: snapshot: expected a string, got a HASH reference\n", 'XS: snapshot not a string');
dies_with(sub { PVE::Balancer::Native::_execute('score', undef, {}) },
    "pve-balancer: snapshot: expected a string, got undef\n", 'XS: undef snapshot');
like(error_of(sub { PVE::Balancer::Native::_execute('score') }), qr/^Usage: /, 'XS: wrong argument count');

# Errors are PVE::Balancer::Native::Error objects {path, message} that read as the line above.
{
    my $err = error_of(sub { PVE::Balancer::Native::plan([{ type => 'node' }]) });
    isa_ok($err, 'PVE::Balancer::Native::Error', 'engine error');
    is($err->path, 'resources[0].node', 'error path');
    is($err->message, 'missing, expected the node name', 'error message');
    is("$err", "pve-balancer: resources[0].node: missing, expected the node name\n", 'error text');
    ok(PVE::Balancer::Native::Error::is_error($err), 'is_error');
    ok(!PVE::Balancer::Native::Error::is_error("pve-balancer: x\n"), 'a string is not one');
    my $arg = error_of(sub { PVE::Balancer::Native::evacuate($demo, node => 'nope') });
    isa_ok($arg, 'PVE::Balancer::Native::Error', 'argument error');
    is($arg->path, 'node', 'argument error path');
    my $xs = error_of(sub { PVE::Balancer::Native::_execute('score', undef, {}) });
    isa_ok($xs, 'PVE::Balancer::Native::Error', 'XS-level error');
    is($xs->path, 'snapshot', 'XS-level error path');
}

# Still usable after all that.
is(PVE::Balancer::Native::score($demo)->{kind}, 'score', 'the module still works');

done_testing();
