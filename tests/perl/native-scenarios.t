#!/usr/bin/perl
# Every golden scenario (tests/scenarios/<case>/) once more through the XS module (DESIGN.md
# §8: scenarios run through the CLI and through XS). The case's `cmd` becomes a
# PVE::Balancer::Native::execute call: the command, and its CLI options as the option hash
# execute takes (the same names the CLI parses, without the dashes); the snapshot goes in as
# Perl data (decode_json, as the PVE API hands it over). The answer is turned into the compact
# form by the module tests/cli/scenarios.t uses (PVEBalancerTest::Scenario) and compared with
# the same reviewed expected.log, with the same invariants; where a case keeps format.json, the
# answer must equal it as data too.
#
# This test never writes an expectation: a case without expected.log, or in the old format
# (expected.json), fails here and is bootstrapped or converted by tests/cli/scenarios.t.
use strict;
use warnings;
use Test::More;
use JSON ();
use lib 'tests/perl/lib';
use PVEBalancerTest::Scenario;

use PVE::Balancer::Native;

my $root = 'tests/scenarios';
my $json = JSON->new->utf8;

# The commands PVE::Balancer::Native::execute runs (perl/lib/PVE/Balancer/Native.pm). A case
# with any other CLI command is skipped with the reason below.
my %xs_command = map { $_ => 1 } qw(score plan evacuate failover capacity place);
my %no_xs = (
    options => 'the option table is option_schema() in XS, not an engine command on a snapshot',
    version => 'version() in XS takes no snapshot',
);

my @cases = PVEBalancerTest::Scenario::cases($root);
cmp_ok(scalar(@cases), '>=', 25, 'at least 25 scenarios');

my ($ran, @skipped) = (0);
for my $case (@cases) {
    my $dir = "$root/$case";
    my $cmd = PVEBalancerTest::Scenario::read_cmd($dir);
    my ($command, @args) = eval { PVEBalancerTest::Scenario::parse_cmd($cmd) };
    if (!defined($command)) {
        fail("$case: cmd '$cmd' cannot be mapped to an XS call: $@");
        next;
    }
    if (!$xs_command{$command}) {
        my $why = $no_xs{$command} // 'PVE::Balancer::Native::execute has no such command';
        push @skipped, $case;
      SKIP: { skip("$case: '$command' has no XS entry point ($why)", 1); }
        next;
    }
    my $log_path = "$dir/expected.log";
    if (!-f $log_path) {
        fail("$case: no expected.log" . (-f "$dir/expected.json" ? ' (old format: expected.json)' : '')
            . '; tests/cli/scenarios.t writes it (PVEBAL_UPDATE_SCENARIOS=1 converts the old format)');
        next;
    }

    my $snapshot = $json->decode(PVEBalancerTest::Scenario::slurp("$dir/snapshot.json"));
    my $got = eval { PVE::Balancer::Native::execute($command, $snapshot, @args) };
    if (my $err = $@) {
        fail("$case: $cmd through XS");
        diag("died: $err");
        next;
    }
    $ran++;
    my $want = PVEBalancerTest::Scenario::slurp($log_path);
    my ($same, $normalized, $want_facts) =
        PVEBalancerTest::Scenario::compare($want, PVEBalancerTest::Scenario::compact($got));
    ok($same, "$case: $cmd through XS matches expected.log")
        or diag(PVEBalancerTest::Scenario::diff_text($want_facts, $normalized, $log_path));
    if (-f "$dir/format.json") {
        is_deeply($got, $json->decode(PVEBalancerTest::Scenario::slurp("$dir/format.json")),
            "$case: XS answer equals format.json as data");
    }
    my ($what, @errors) = PVEBalancerTest::Scenario::invariant_errors($got);
    next if !defined($what);
    ok(!@errors, "$case: $what invariants (XS)") or diag(join("\n", @errors));
}
note("$ran cases through XS; skipped (no XS entry point): " . (@skipped ? join(', ', @skipped) : 'none'));

done_testing();
