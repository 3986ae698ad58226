#!/usr/bin/perl
# Golden scenarios (tests/scenarios/<case>/): each case holds a hand-designed snapshot.json, the
# command line in `cmd` (the arguments after the binary), the reviewed JSON output in
# expected.json and a README saying what the case is about and why the output is right.
#
# For every case, in sorted order: run `pve-balancer <cmd> --snapshot <dir>/snapshot.json
# --output-format json`, require exit 0, compare stdout byte-for-byte with expected.json (a
# unified diff is printed on mismatch) and check invariants that hold for every plan.
#
# A case without expected.json gets one written from the current output and fails with
# "bootstrapped, review it" (the convention of pve-ha-manager's ha-tester). After an intended
# change of behaviour, PVEBAL_UPDATE_SCENARIOS=1 rewrites every expected.json; review the diff.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp qw(tempfile);
require './tests/cli/lib.pl';

my $root = 'tests/scenarios';
my $update = $ENV{PVEBAL_UPDATE_SCENARIOS} ? 1 : 0;

opendir(my $dh, $root) or die "cannot read $root: $!\n";
my @cases = sort grep { !/^[._]/ && -d "$root/$_" } readdir($dh);
closedir($dh);
cmp_ok(scalar(@cases), '>=', 25, 'at least 25 scenarios');

sub write_file {
    my ($path, $text) = @_;
    open(my $fh, '>:raw', $path) or die "cannot write $path: $!\n";
    print $fh $text;
    close($fh) or die "cannot write $path: $!\n";
}

# A unified diff of the expected file against what we got, for the failure message.
sub diff_text {
    my ($expected_path, $got) = @_;
    my ($fh, $got_path) = tempfile('pvebal-scenario-XXXXXX', TMPDIR => 1, SUFFIX => '.json', UNLINK => 1);
    binmode($fh);
    print $fh $got;
    close($fh);
    my $diff = `diff -u \Q$expected_path\E \Q$got_path\E 2>&1`;
    return $diff eq '' ? "(diff found no difference in lines; check trailing bytes)\n" : $diff;
}

# Invariants of a capacity answer.
sub check_capacity {
    my ($case, $j) = @_;
    my @errors;
    my $t = $j->{'tolerated-failures'};
    push @errors, "tolerated $t > upper-bound $j->{'upper-bound'}" if $t > $j->{'upper-bound'};
    push @errors, "exact but tolerated $t != upper-bound $j->{'upper-bound'}" if $j->{exact} && $t != $j->{'upper-bound'};
    push @errors, "tolerated $t >= nodes $j->{nodes}" if $j->{nodes} > 0 && $t >= $j->{nodes};
    my $w = $j->{worst};
    if ($w) {
        push @errors, "worst has " . scalar(@{ $w->{'failed-nodes'} }) . " failed nodes, expected " . ($t + 1)
            if @{ $w->{'failed-nodes'} } != $t + 1;
        push @errors, "worst scenario has no unplaced guest" if $w->{unplaced} < 1;
        push @errors, "worst lists " . scalar(@{ $w->{guests} }) . " guests, unplaced says $w->{unplaced}"
            if @{ $w->{guests} } != $w->{unplaced};
    } elsif ($j->{exact} && $t < $j->{nodes} - 1) {
        push @errors, "exact, tolerated $t < nodes - 1, but no worst scenario";
    }
    my $tg = $j->{target};
    push @errors, "target met disagrees with tolerated" if $j->{exact} && (!!$tg->{met}) != ($tg->{failures} <= $t);
    push @errors, "target met but reserve needed" if $tg->{met} && ($tg->{'reserve-needed'}{memory} || $tg->{'reserve-needed'}{cpu});
    my %unrec = map { $_->{vmid} => 1 } @{ $j->{unrecoverable} };
    for my $s (grep { $_ } $w, $tg->{worst}) {
        push @errors, "an unrecoverable guest counts in a scenario" if grep { $unrec{$_} } @{ $s->{guests} };
    }
    ok(!@errors, "$case: capacity invariants") or diag(join("\n", @errors));
}

# Invariants of a place answer: fitting nodes first, best first, scores 100 down to 50.
sub check_place {
    my ($case, $j) = @_;
    my @errors;
    my ($seen_rest, $prev) = (0, undef);
    for my $n (@{ $j->{nodes} }) {
        if ($n->{fits}) {
            push @errors, "$n->{node} fits but comes after a node that does not" if $seen_rest;
            push @errors, "$n->{node}: score $n->{score} out of 50..100" if $n->{score} < 50 || $n->{score} > 100;
            push @errors, "$n->{node}: ranked below a worse objective"
                if defined $prev && $n->{'objective-after'} < $prev - 1e-9;
            $prev = $n->{'objective-after'};
        } else {
            $seen_rest = 1;
            push @errors, "$n->{node} does not fit but has no reason" unless $n->{reason} && $n->{reason}{constraint};
        }
    }
    my ($first) = grep { $_->{fits} } @{ $j->{nodes} };
    my $want = $first ? $first->{node} : undef;
    push @errors, "best is " . ($j->{best} // 'null') . ", expected " . ($want // 'null')
        if ($j->{best} // '') ne ($want // '');
    ok(!@errors, "$case: place invariants") or diag(join("\n", @errors));
}

# Invariants of every plan, whatever the scenario. Capacity and place answers have their own.
sub check_invariants {
    my ($case, $j) = @_;
    return check_capacity($case, $j) if ($j->{kind} // '') eq 'capacity';
    return check_place($case, $j) if ($j->{kind} // '') eq 'place';
    my @errors;
    return () if ($j->{kind} // '') eq 'score';
    my $migs = $j->{migrations} // [];
    my %active = map { $_->{node} => $_->{active} } @{ $j->{nodes} // [] };
    my %drained = map { $_ => 1 } @{ $j->{drained} // $j->{'failed-nodes'} // [] };
    push @errors, "kind is '" . ($j->{kind} // '') . "'" unless ($j->{kind} // '') =~ /^(balance|evacuate|failover)$/;
    my ($prev_wave, %where) = (0);
    for my $i (0 .. $#$migs) {
        my $m = $migs->[$i];
        my $what = "migration " . ($i + 1) . " (vmid $m->{vmid})";
        push @errors, "$what: step is $m->{step}, expected " . ($i + 1) if $m->{step} != $i + 1;
        push @errors, "$what: wave $m->{wave} after wave $prev_wave" if $m->{wave} < $prev_wave;
        push @errors, "$what: wave $m->{wave} skips a wave" if $m->{wave} > $prev_wave + 1;
        $prev_wave = $m->{wave};
        push @errors, "$what: from and to are both $m->{to}" if $m->{from} eq $m->{to};
        push @errors, "$what: target $m->{to} is not active (offline or maintenance)" if !$active{ $m->{to} };
        push @errors, "$what: target $m->{to} is being drained" if $drained{ $m->{to} };
        # a guest that moves twice (temporary parking) leaves from where it went
        push @errors, "$what: leaves $m->{from}, but an earlier step put it on $where{$m->{vmid}}"
            if defined $where{ $m->{vmid} } && $where{ $m->{vmid} } ne $m->{from};
        $where{ $m->{vmid} } = $m->{to};
        push @errors, "$what: a temporary move is its guest's last move"
            if $m->{temporary} && !grep { $_->{vmid} == $m->{vmid} } @$migs[ $i + 1 .. $#$migs ];
    }
    my $s = $j->{summary} // {};
    push @errors, "summary.migrations $s->{migrations} != " . scalar(@$migs) if ($s->{migrations} // -1) != @$migs;
    push @errors, "summary.waves $s->{waves} != $prev_wave" if ($s->{waves} // -1) != $prev_wave;
    push @errors, "summary.unplaced $s->{unplaced} != " . scalar(@{ $j->{unplaced} // [] })
        if ($s->{unplaced} // -1) != @{ $j->{unplaced} // [] };
    # guest counts per node: before + arrivals - departures = after
    my %delta;
    for my $m (@$migs) {
        $delta{ $m->{from} }--;
        $delta{ $m->{to} }++;
    }
    for my $n (@{ $j->{nodes} // [] }) {
        my $want = $n->{before}{guests} + ($delta{ $n->{node} } // 0);
        push @errors, "node $n->{node}: $n->{before}{guests} guests + moves = $want, but after says $n->{after}{guests}"
            if $n->{after}{guests} != $want;
    }
    if (($j->{kind} // '') eq 'failover') {
        # a guest restarts at most once, from a failed node; failover has no temporary moves
        my %moved;
        for my $m (@$migs) {
            push @errors, "vmid $m->{vmid} restarts twice" if $moved{ $m->{vmid} }++;
            push @errors, "vmid $m->{vmid} leaves $m->{from}, which has not failed" unless $drained{ $m->{from} };
            push @errors, "vmid $m->{vmid} is a temporary move" if $m->{temporary};
            push @errors, "vmid $m->{vmid} is both moved and unplaced" if grep { $_->{vmid} == $m->{vmid} } @{ $j->{unplaced} // [] };
        }
    }
    if (($j->{kind} // '') eq 'evacuate') {
        # every guest left on a drained node is reported as unplaced
        my %unplaced = map { $_->{vmid} => 1 } @{ $j->{unplaced} // [] };
        for my $n (@{ $j->{nodes} // [] }) {
            next unless $drained{ $n->{node} };
            my $left = $n->{after}{guests};
            my $reported = grep { $_->{node} eq $n->{node} } @{ $j->{unplaced} // [] };
            push @errors, "drained node $n->{node} keeps $left guests but $reported are reported unplaced"
                if $left != $reported;
        }
    }
    ok(!@errors, "$case: plan invariants") or diag(join("\n", @errors));
}

for my $case (@cases) {
    my $dir = "$root/$case";
    for my $f (qw(snapshot.json cmd README)) {
        ok(-f "$dir/$f", "$case: has $f");
    }
    next unless -f "$dir/cmd" && -f "$dir/snapshot.json";
    my $cmd = slurp("$dir/cmd");
    $cmd =~ s/\s+\z//;
    my @args = split(' ', $cmd);
    my ($rc, $out, $err) = run_cli([@args, '--snapshot', "$dir/snapshot.json", '--output-format', 'json']);
    is($rc, 0, "$case: '$cmd' exits 0") or diag($err);
    next if $rc != 0;

    my $expected_path = "$dir/expected.json";
    if (!-f $expected_path) {
        write_file($expected_path, $out);
        fail("$case: bootstrapped, review it ($expected_path was missing and has been written)");
    } elsif ($update) {
        my $old = slurp($expected_path);
        write_file($expected_path, $out) if $old ne $out;
        pass("$case: expected.json " . ($old eq $out ? 'unchanged' : 'rewritten (PVEBAL_UPDATE_SCENARIOS), review the diff'));
    } else {
        my $want = slurp($expected_path);
        ok($out eq $want, "$case: output matches expected.json")
            or diag("$case: output differs from $expected_path:\n" . diff_text($expected_path, $out)
                    . "If the change is intended, rerun with PVEBAL_UPDATE_SCENARIOS=1 and review the diff.");
    }

    my $j = eval { decode_json($out) };
    ok($j, "$case: output is JSON") or do { diag($@); next };
    check_invariants($case, $j);
}
done_testing();
