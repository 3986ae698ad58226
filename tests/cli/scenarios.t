#!/usr/bin/perl
# Golden scenarios (tests/scenarios/<case>/): each case holds a hand-designed snapshot.json, the
# command line in `cmd` (the arguments after the binary), the reviewed compact expectation in
# expected.log and a README saying what the case is about and why the answer is right. The
# format of expected.log (one fact a line; metric lines with a tolerance) is in
# tests/scenarios/README.md; PVEBalancerTest::Scenario derives and compares it, for this test
# and for tests/perl/native-scenarios.t (the same cases through the XS module).
#
# For every case, in sorted order: run `pve-balancer <cmd> --snapshot <dir>/snapshot.json
# --output-format json`, require exit 0, derive the compact form, compare it with expected.log
# (a unified diff is printed on mismatch) and check invariants that hold for every answer. A
# few cases whose point is the JSON output format (docs/plan-format.md) also keep format.json,
# compared byte for byte.
#
# A case without expected.log gets one written from the current output and fails with
# "bootstrapped, review it" (the convention of pve-ha-manager's ha-tester). After an intended
# change of behaviour, PVEBAL_UPDATE_SCENARIOS=1 rewrites every expected.log (metric lines
# within the tolerance keep their reviewed values) and format.json; review the diff.
#
# A case in the old format (expected.json, the whole JSON answer; also beside an expected.log,
# as a merge may leave it) fails; with PVEBAL_UPDATE_SCENARIOS=1 its expected.log is derived
# from that reviewed expected.json (not from the current output, which is then compared with it
# as usual) and expected.json is removed; a difference between the two fails with a diff
# (rerun to accept it).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use lib 'tests/perl/lib';
use PVEBalancerTest::Scenario;
require './tests/cli/lib.pl';

my $root = 'tests/scenarios';
my $update = $ENV{PVEBAL_UPDATE_SCENARIOS} ? 1 : 0;

my @cases = PVEBalancerTest::Scenario::cases($root);
cmp_ok(scalar(@cases), '>=', 25, 'at least 25 scenarios');

for my $case (@cases) {
    my $dir = "$root/$case";
    for my $f (qw(snapshot.json cmd README)) {
        ok(-f "$dir/$f", "$case: has $f");
    }
    next unless -f "$dir/cmd" && -f "$dir/snapshot.json";
    my $cmd = PVEBalancerTest::Scenario::read_cmd($dir);
    my $header = PVEBalancerTest::Scenario::header($case, $cmd);
    my $log_path = "$dir/expected.log";
    my $old_path = "$dir/expected.json";
    my $converted = 0;

    if (-f $old_path) {
        if ($update) {
            my $old = eval { decode_json(slurp($old_path)) };
            if (!$old) {
                fail("$case: old-format $old_path is not JSON, cannot convert it: $@");
                next;
            }
            PVEBalancerTest::Scenario::write_file($log_path, $header . PVEBalancerTest::Scenario::compact($old));
            unlink($old_path) or die "cannot remove $old_path: $!\n";
            $converted = 1;
            pass("$case: converted the reviewed expected.json to expected.log (PVEBAL_UPDATE_SCENARIOS);"
                . " expected.json removed, review and commit both");
        } else {
            fail("$case: old format (expected.json" . (-f $log_path ? ' beside expected.log, e.g. from a merge' : '')
                . "): run PVEBAL_UPDATE_SCENARIOS=1 prove tests/cli/scenarios.t to convert it to"
                . " expected.log (it replaces expected.log; a byte-exact golden of the JSON format is"
                . " called format.json), then review the result");
            next;
        }
    }

    my ($rc, $out, $err) = run_cli([split(' ', $cmd), '--snapshot', "$dir/snapshot.json", '--output-format', 'json']);
    is($rc, 0, "$case: '$cmd' exits 0") or diag($err);
    next if $rc != 0;
    my $j = eval { decode_json($out) };
    ok($j, "$case: output is JSON") or do { diag($@); next };
    my $got = PVEBalancerTest::Scenario::compact($j);

    if (!-f $log_path) {
        PVEBalancerTest::Scenario::write_file($log_path, $header . $got);
        fail("$case: bootstrapped, review it ($log_path was missing and has been written)");
    } else {
        my $want = slurp($log_path);
        my ($same, $normalized, $want_facts) = PVEBalancerTest::Scenario::compare($want, $got);
        if ($update && !$converted) {
            my $text = PVEBalancerTest::Scenario::update_text($want, $got, $header);
            PVEBalancerTest::Scenario::write_file($log_path, $text) if $text ne $want;
            pass("$case: expected.log " . ($same ? 'unchanged' : 'rewritten (PVEBAL_UPDATE_SCENARIOS), review the diff'));
        } else {
            ok($same, "$case: answer matches expected.log")
                or diag("$case: answer differs from $log_path:\n"
                        . PVEBalancerTest::Scenario::diff_text($want_facts, $normalized, $log_path)
                        . "If the change is intended, rerun with PVEBAL_UPDATE_SCENARIOS=1 and review the diff.");
        }
    }

    # byte-exact JSON, only where the output format is the point of the case
    my $format_path = "$dir/format.json";
    if (-f $format_path) {
        my $want = slurp($format_path);
        if ($update) {
            PVEBalancerTest::Scenario::write_file($format_path, $out) if $want ne $out;
            pass("$case: format.json " . ($want eq $out ? 'unchanged' : 'rewritten (PVEBAL_UPDATE_SCENARIOS), review the diff'));
        } else {
            ok($out eq $want, "$case: JSON output matches format.json byte for byte")
                or diag("$case: output differs from $format_path:\n"
                        . PVEBalancerTest::Scenario::diff_text($want, $out, $format_path)
                        . "If the change is intended, rerun with PVEBAL_UPDATE_SCENARIOS=1 and review the diff.");
        }
    }

    my ($what, @errors) = PVEBalancerTest::Scenario::invariant_errors($j);
    next if !defined($what);
    ok(!@errors, "$case: $what invariants") or diag(join("\n", @errors));
}
done_testing();
