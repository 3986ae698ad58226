#!/usr/bin/perl
# The command line itself: help, usage errors, input sources, option precedence.
use strict;
use warnings;
use Test::More;
use JSON::PP;
require './tests/cli/lib.pl';

my $snap = 'tests/fixtures/small-extended.json';

my ($rc, $out, $err) = run_cli(['--help']);
is($rc, 0, '--help exits 0');
like($out, qr/^Usage: pve-balancer COMMAND/m, '--help shows usage');
like($out, qr/^  score /m, '--help lists score');

($rc, $out) = run_cli(['help', 'score']);
is($rc, 0, 'help score');
like($out, qr/Usage: pve-balancer score --snapshot FILE/, 'help score shows usage');
like($out, qr/Example:/, 'help score has an example');

($rc, $out) = run_cli(['help', 'options']);
like($out, qr/^  max-migrations\s+default 10$/m, 'help options lists engine options with defaults');

($rc, $out) = run_cli(['version']);
like($out, qr/^pve-balancer \d+\.\d+\.\d+$/m, 'version');

($rc, $out, $err) = run_cli([]);
is($rc, 2, 'no command: exit 2');

($rc, $out, $err) = run_cli(['frobnicate']);
is($rc, 2, 'unknown command: exit 2');
like($err, qr/unknown command 'frobnicate'/, 'unknown command named');

($rc, $out, $err) = run_cli(['score']);
is($rc, 2, 'missing --snapshot: exit 2');
like($err, qr/--snapshot FILE is required/, 'missing --snapshot explained');

($rc, $out, $err) = run_cli(['score', '--snapshot', 'does/not/exist.json']);
is($rc, 2, 'unreadable file: exit 2');
like($err, qr/cannot read snapshot 'does\/not\/exist.json'/, 'unreadable file named');

($rc, $out, $err) = run_cli(['score', '--snapshot', $snap, '--output-format', 'yaml']);
is($rc, 2, 'bad format: exit 2');
like($err, qr/--output-format: expected text or json, got 'yaml'/, 'bad format explained');

($rc, $out, $err) = run_cli(['score', '--snapshot', $snap, '--no-such-flag', '1']);
is($rc, 2, 'unknown flag: exit 2');
like($err, qr/unknown flag --no-such-flag/, 'unknown flag named');

($rc, $out, $err) = run_cli(['score', '--snapshot', $snap, '--cpu-limit', '7']);
is($rc, 2, 'bad option value: exit 2');
like($err, qr/^pve-balancer: --cpu-limit: expected a fraction from 0.05 to 1, got 7$/m, 'bad option value explained');

($rc, $out, $err) = run_cli(['score', '--snapshot', $snap, '--maintenance-nodes', 'nope']);
is($rc, 2, 'unknown maintenance node: exit 2');
like($err, qr/maintenance-nodes: unknown node "nope"/, 'unknown maintenance node named');

# stdin
my $text = slurp($snap);
($rc, $out, $err) = run_cli_stdin(['score', '--snapshot', '-', '--output-format', 'json'], $text);
is($rc, 0, 'stdin: exit 0') or diag($err);
my ($rc2, $out2) = run_cli(['score', '--snapshot', $snap, '--output-format', 'json']);
is($out, $out2, 'stdin gives the same answer as the file');
my $j = decode_json($out);
is($j->{kind}, 'score', 'json kind');
is(scalar(@{$j->{nodes}}), 3, 'json nodes');
ok(exists $j->{metrics}{imbalance} && exists $j->{metrics}{objective}, 'json metrics');

# option precedence: snapshot < config < flag
my $cfg = 'tests/out/config.json';
mkdir 'tests/out';
open(my $fh, '>', $cfg) or die;
print $fh '{"mode": "static"}';
close($fh);
($rc, $out) = run_cli(['score', '--snapshot', $snap, '--config', $cfg, '--output-format', 'json']);
is(decode_json($out)->{mode}, 'static', 'config overrides the default');
($rc, $out) = run_cli(['score', '--snapshot', $snap, '--config', $cfg, '--mode', 'used', '--output-format', 'json']);
is(decode_json($out)->{mode}, 'used', 'a flag overrides the config');
open($fh, '>', $cfg) or die;
print $fh '{"mode": "fast"}';
close($fh);
($rc, $out, $err) = run_cli(['score', '--snapshot', $snap, '--config', $cfg]);
is($rc, 2, 'bad config: exit 2');
like($err, qr/^pve-balancer: config.mode: expected "used" or "static", got "fast"$/m, 'bad config value named');

# the option schema, for scripts and the Perl side
($rc, $out) = run_cli(['options', '--output-format', 'json']);
is($rc, 0, 'options --output-format json');
my $schema = decode_json($out);
my %by_key = map { $_->{key} => $_ } @$schema;
is($by_key{'max-migrations'}{default}, 10, 'schema: max-migrations default');
is($by_key{'cost-weight'}{default}, 0.04, 'schema: cost-weight default is the engine\'s');
is($by_key{auto}{scope}, 'integration', 'schema: integration keys are listed too');
is_deeply($by_key{mode}{enum}, ['used', 'static'], 'schema: choices');
is_deeply([map { $_->{key} } @$schema], [sort map { $_->{key} } @$schema], 'schema sorted by key');
($rc, $out, $err) = run_cli(['options', '--bogus']);
is($rc, 2, 'options: bad argument exits 2');

# option values are read strictly: the whole value, the right type
for my $bad ('0x10', '5abc', '5,6', '5 // c', '') {
    ($rc, $out, $err) = run_cli(['plan', '--snapshot', $snap, '--max-migrations', $bad]);
    is($rc, 2, "--max-migrations '$bad' refused");
    like($err, qr/^pve-balancer: --max-migrations: expected an integer from 0 to 100000, got /m,
        "... with the expected type");
}
($rc, $out, $err) = run_cli(['plan', '--snapshot', $snap, '--storage-map', 'a:b:c']);
is($rc, 2, 'storage-map a:b:c refused');
($rc, $out, $err) = run_cli(['evacuate', '--snapshot', $snap, '--node', ',']);
is($rc, 2, 'evacuate --node , refused');
like($err, qr/--node: required/, '... an empty node list is not a drain');
# a list of separators only is a mistake, not an empty list; "" still clears a list
for my $opt ('--maintenance-nodes', '--storage-map') {
    ($rc, $out, $err) = run_cli(['plan', '--snapshot', $snap, $opt, ',']);
    is($rc, 2, "$opt , refused");
    like($err, qr/^pve-balancer: \Q$opt\E: expected .*, got "," \(no entries/m, '... naming why');
    ($rc, $out, $err) = run_cli(['plan', '--snapshot', $snap, $opt, '']);
    is($rc, 0, "$opt '' clears the list") or diag($err);
}

# text output shape
($rc, $out) = run_cli(['score', '--snapshot', 'docs/examples/demo-cluster.json']);
is($rc, 0, 'demo scores');
like($out, qr/^NODE\s+CPU\s+MEMORY\s+GUESTS$/m, 'table header');
like($out, qr/^pve1\s+\[[#.]+\]\s+\d+\.\d%/m, 'node bar');
like($out, qr/imbalance\s+0\.\d{4}/, 'imbalance line');
like($out, qr/templates are never moved/, 'immovable warning with reason');

done_testing();
