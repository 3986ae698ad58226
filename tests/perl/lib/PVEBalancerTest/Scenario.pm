package PVEBalancerTest::Scenario;

# The golden scenarios (tests/scenarios/<case>/) for both runners: tests/cli/scenarios.t (the
# CLI) and tests/perl/native-scenarios.t (the XS module). One place derives the compact
# expectation (expected.log) from an answer, compares it with the reviewed file (metric lines
# with a tolerance, every other line exactly), and checks the invariants every answer must
# hold. The format is documented in tests/scenarios/README.md; keep the two in step.
#
# Pure Perl on decoded JSON (JSON::PP or JSON::XS data, both work), no engine call here.

use strict;
use warnings;

use File::Temp qw(tempfile);

# Default tolerance of metric lines: a number matches when it is within ABS of the expected
# value or within REL of it (relative to the expected value). An expected.log may override
# both with a line "tolerance rel R abs A".
our $REL = 0.02;
our $ABS = 0.0005;

=head3 cases($root)

The case directories under C<$root>, sorted (names starting with C<.> or C<_> are not cases).

=cut

sub cases {
    my ($root) = @_;
    opendir(my $dh, $root) or die "cannot read $root: $!\n";
    my @cases = sort grep { !/^[._]/ && -d "$root/$_" } readdir($dh);
    closedir($dh);
    return @cases;
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or die "cannot read $path: $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return $text;
}

sub write_file {
    my ($path, $text) = @_;
    open(my $fh, '>:raw', $path) or die "cannot write $path: $!\n";
    print $fh $text;
    close($fh) or die "cannot write $path: $!\n";
}

=head3 read_cmd($dir)

The command line of a case (its C<cmd> file, trailing white space removed).

=cut

sub read_cmd {
    my ($dir) = @_;
    my $cmd = slurp("$dir/cmd");
    $cmd =~ s/\s+\z//;
    return $cmd;
}

=head3 parse_cmd($line)

C<"evacuate --node pve1 --all-guests"> as C<('evacuate', node =E<gt> 'pve1', 'all-guests'
=E<gt> 1)>: the command and the option hash the XS module's C<execute> takes (the CLI's
option names without the dashes; a flag without a value is 1). Dies on a word that is not an
option.

=cut

sub parse_cmd {
    my ($line) = @_;
    my ($command, @words) = split(/\s+/, $line);
    my @args;
    while (@words) {
        my $flag = shift(@words);
        die "unexpected word '$flag' in cmd\n" if $flag !~ m/^--([a-z][a-z0-9\-]*)$/;
        my $key = $1;
        my $value = @words && $words[0] !~ m/^--/ ? shift(@words) : 1;
        push @args, $key => $value;
    }
    return ($command, @args);
}

# Free text (reasons, messages, notes) keeps its words and whole numbers; a decimal number
# becomes "~": those come from the cost model and the objective, which metric lines assert
# with a tolerance.
sub text {
    my ($s) = @_;
    $s = '' if !defined($s);
    $s =~ s/\d+\.\d+/~/g;
    $s =~ s/[\r\n]+/ /g;
    return $s;
}

sub num {
    my ($v) = @_;
    return defined($v) ? 0 + $v : 'null';
}

sub guest_label {
    my ($x) = @_;
    my @w = grep { defined && $_ ne '' } ($x->{type}, $x->{vmid}, $x->{name});
    return join(' ', @w);
}

sub metric_lines {
    my ($before, $after) = @_;
    my @lines;
    my $pair = sub {
        my ($name, $b, $a) = @_;
        push @lines, defined($after) ? "metric $name " . num($b) . ' -> ' . num($a) : "metric $name " . num($b);
    };
    $pair->('objective', $before->{objective}, $after ? $after->{objective} : undef);
    $pair->('imbalance', $before->{imbalance}, $after ? $after->{imbalance} : undef);
    # every resource dimension the answer has (cpu, memory, and whatever rows come later)
    for my $res (sort grep { ref($before->{$_}) eq 'HASH' } keys %$before) {
        for my $stat (qw(max stddev)) {
            next if !exists $before->{$res}{$stat};
            $pair->("$res $stat", $before->{$res}{$stat}, $after ? $after->{$res}{$stat} : undef);
        }
    }
    return @lines;
}

sub reason_lines {
    my ($reasons, $indent) = @_;
    my @lines;
    for my $r (@{ $reasons // [] }) {
        my $where = defined($r->{node}) ? $r->{node} : '(guest)';
        push @lines, "$indent$where $r->{constraint}: " . text($r->{message});
    }
    return @lines;
}

sub compact_plan {
    my ($j) = @_;
    my @lines = ("kind $j->{kind}", "mode $j->{mode}");
    push @lines, 'drained ' . join(' ', @{ $j->{drained} }) if $j->{drained};
    push @lines, 'failed-nodes ' . join(' ', @{ $j->{'failed-nodes'} }) if $j->{'failed-nodes'};
    my @inactive = map { $_->{node} } grep { !$_->{active} } @{ $j->{nodes} // [] };
    push @lines, 'inactive ' . join(' ', @inactive) if @inactive;
    for my $m (@{ $j->{migrations} // [] }) {
        my @flags = grep { $m->{$_} } qw(ha temporary);
        push @flags, 'local-disks' if $m->{'with-local-disks'};
        push @lines, "step $m->{step} wave $m->{wave}: " . guest_label($m)
            . " $m->{from} -> $m->{to} $m->{mode}" . join('', map { " $_" } @flags)
            . '; ' . text($m->{reason});
    }
    for my $u (@{ $j->{unplaced} // [] }) {
        push @lines, 'unplaced ' . guest_label($u) . " on $u->{node}";
        push @lines, reason_lines($u->{reasons}, '  ');
    }
    for my $d (@{ $j->{dropped} // [] }) {
        push @lines, "dropped $d->{vmid} $d->{from} -> $d->{to}: " . text($d->{reason});
    }
    push @lines, map { 'note ' . text($_) } @{ $j->{notes} // [] };
    push @lines, metric_lines($j->{metrics}{before}, $j->{metrics}{after});
    return @lines;
}

sub scenario_line {
    my ($label, $s) = @_;
    return "$label none" if !$s;
    return "$label " . join('+', @{ $s->{'failed-nodes'} }) . ": $s->{unplaced} unplaced"
        . " ($s->{'rule-blocked'} rule-blocked)"
        . (@{ $s->{guests} // [] } ? ': ' . join(' ', @{ $s->{guests} }) : '');
}

sub compact_capacity {
    my ($j) = @_;
    my @lines = ('kind capacity', "nodes $j->{nodes} ha-guests $j->{'ha-guests'}");
    push @lines, "tolerated-failures $j->{'tolerated-failures'} (upper-bound $j->{'upper-bound'}, "
        . ($j->{exact} ? 'exact' : 'lower bound') . ')';
    push @lines, scenario_line('worst', $j->{worst});
    my $t = $j->{target} // {};
    push @lines, "target $t->{failures} " . ($t->{met} ? 'met' : 'not met');
    push @lines, scenario_line('target worst', $t->{worst});
    push @lines, 'unrecoverable ' . guest_label($_) for @{ $j->{unrecoverable} // [] };
    for my $res (qw(cpu memory)) {
        push @lines, "metric worst shortfall $res " . num($j->{worst}{shortfall}{$res}) if $j->{worst};
    }
    for my $res (qw(cpu memory)) {
        push @lines, "metric target reserve-needed $res " . num($t->{'reserve-needed'}{$res});
    }
    return @lines;
}

sub compact_place {
    my ($j) = @_;
    my @lines = ('kind place', 'best ' . ($j->{best} // 'none'));
    my @metrics = map { "metric demand $_ " . num($j->{demand}{$_}) } sort keys %{ $j->{demand} // {} };
    for my $n (@{ $j->{nodes} // [] }) {
        if ($n->{fits}) {
            push @lines, "node $n->{node} fits";
            push @metrics, "metric $n->{node} score " . num($n->{score}),
                "metric $n->{node} objective-after " . num($n->{'objective-after'});
        } else {
            my $r = $n->{reason} // {};
            push @lines, "node $n->{node} rejected " . ($r->{constraint} // '?') . ': ' . text($r->{message});
        }
    }
    return (@lines, @metrics);
}

sub compact_score {
    my ($j) = @_;
    my @lines = ('kind score', "mode $j->{mode}");
    my $s = $j->{summary} // {};
    push @lines, 'summary ' . join(' ', map { "$_ $s->{$_}" } sort keys %$s) if %$s;
    for my $n (@{ $j->{nodes} // [] }) {
        push @lines, "node $n->{node} $n->{status}" . ($n->{maintenance} ? ' maintenance' : '')
            . ($n->{active} ? '' : ' inactive') . " guests $n->{guests} running $n->{running}";
    }
    for my $w (@{ $j->{warnings} // [] }) {
        my $who = defined($w->{vmid}) ? "$w->{vmid}" . (defined($w->{name}) ? " $w->{name}" : '')
            : defined($w->{node}) ? $w->{node} : '(cluster)';
        push @lines, "warning $w->{kind} $who: " . text($w->{message});
        push @lines, reason_lines($w->{reasons}, '  ');
    }
    push @lines, metric_lines($j->{metrics}, undef);
    return @lines;
}

=head3 compact($answer)

The compact form of an engine answer (decoded JSON of plan, evacuate, failover, capacity,
place or score) as text, one fact a line, ending with a newline.

=cut

sub compact {
    my ($j) = @_;
    my $kind = $j->{kind} // '';
    my @lines = $kind eq 'capacity' ? compact_capacity($j)
        : $kind eq 'place' ? compact_place($j)
        : $kind eq 'score' ? compact_score($j)
        : compact_plan($j);
    return join('', map { "$_\n" } @lines);
}

=head3 header($case, $cmd)

The comment that opens a written expected.log.

=cut

sub header {
    my ($case, $cmd) = @_;
    return "# $case: pve-balancer $cmd (compact expectation, format: tests/scenarios/README.md)\n";
}

# Lines that take part in the comparison: no comments, no blank lines, no tolerance line.
sub fact_lines {
    my ($text) = @_;
    return grep { !/^\s*(#|$)/ && !/^tolerance\s/ } split(/\n/, $text);
}

=head3 tolerance($text)

The (rel, abs) tolerance of an expected.log: its "tolerance rel R abs A" line, or the defaults.

=cut

sub tolerance {
    my ($text) = @_;
    my ($rel, $abs) = ($REL, $ABS);
    for my $line (split(/\n/, $text)) {
        next if $line !~ m/^tolerance\s/;
        die "bad tolerance line '$line' (expected: tolerance rel R abs A)\n"
            if $line !~ m/^tolerance\s+rel\s+([0-9.eE+-]+)\s+abs\s+([0-9.eE+-]+)\s*$/;
        ($rel, $abs) = ($1, $2);
    }
    return ($rel, $abs);
}

my $NUM = qr/^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

sub skeleton {
    my ($line) = @_;
    return join(' ', map { m/$NUM/ ? '#' : $_ } split(/\s+/, $line));
}

sub close_enough {
    my ($want_line, $got_line, $rel, $abs) = @_;
    my @w = split(/\s+/, $want_line);
    my @g = split(/\s+/, $got_line);
    return 0 if @w != @g;
    for my $i (0 .. $#w) {
        my ($a, $b) = ($w[$i], $g[$i]);
        if ($a =~ $NUM && $b =~ $NUM) {
            my $d = abs($a - $b);
            return 0 if $d > $abs && $d > $rel * abs($a);
        } elsif ($a ne $b) {
            return 0;
        }
    }
    return 1;
}

=head3 compare($expected_text, $got_text)

Compares a derived compact form with the reviewed expected.log. Returns C<($ok, $normalized,
$expected_facts)>: C<$normalized> is C<$got_text> with every metric line that is within the
tolerance of its expected line replaced by the expected line (so a diff shows only real
differences, and an update does not churn files over noise); C<$expected_facts> is the
expected file without comments, blank lines and the tolerance line.

=cut

sub compare {
    my ($want_text, $got_text) = @_;
    my ($rel, $abs) = tolerance($want_text);
    my @want = fact_lines($want_text);
    my %want_metric;
    for my $line (@want) {
        next if $line !~ m/^metric\s/;
        $want_metric{ skeleton($line) } //= $line;
    }
    my @got;
    for my $line (fact_lines($got_text)) {
        if ($line =~ m/^metric\s/) {
            my $w = $want_metric{ skeleton($line) };
            $line = $w if defined($w) && close_enough($w, $line, $rel, $abs);
        }
        push @got, $line;
    }
    my $want_facts = join('', map { "$_\n" } @want);
    my $normalized = join('', map { "$_\n" } @got);
    return ($want_facts eq $normalized ? 1 : 0, $normalized, $want_facts);
}

=head3 diff_text($expected, $got, $label)

A unified diff of two texts (the expected facts against the normalized answer), for a failure
message.

=cut

sub diff_text {
    my ($want, $got, $label) = @_;
    my ($fw, $pw) = tempfile('pvebal-expected-XXXXXX', TMPDIR => 1, UNLINK => 1);
    my ($fg, $pg) = tempfile('pvebal-got-XXXXXX', TMPDIR => 1, UNLINK => 1);
    binmode($_) for $fw, $fg;
    print $fw $want;
    print $fg $got;
    close($_) for $fw, $fg;
    my $diff = `diff -u --label \Q$label (expected)\E --label \Q$label (got)\E \Q$pw\E \Q$pg\E 2>&1`;
    return $diff eq '' ? "(diff found no difference in lines; check trailing bytes)\n" : $diff;
}

=head3 update_text($old_text, $got_text, $header)

What PVEBAL_UPDATE_SCENARIOS writes: the header, the old file's tolerance line if it had one,
and the normalized facts (metric lines within the tolerance keep their reviewed values).

=cut

sub update_text {
    my ($old, $got, $header) = @_;
    my (undef, $normalized) = defined($old) ? compare($old, $got) : (0, $got);
    my @tol = defined($old) ? grep { m/^tolerance\s/ } split(/\n/, $old) : ();
    return $header . join('', map { "$_\n" } @tol) . $normalized;
}

# Invariants of a capacity answer.
sub capacity_errors {
    my ($j) = @_;
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
    return @errors;
}

# Invariants of a place answer: fitting nodes first, best first, scores 100 down to 50.
sub place_errors {
    my ($j) = @_;
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
    return @errors;
}

# Invariants of every plan (balance, evacuate, failover), whatever the scenario.
sub plan_errors {
    my ($j) = @_;
    my @errors;
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
        for my $n (@{ $j->{nodes} // [] }) {
            next unless $drained{ $n->{node} };
            my $left = $n->{after}{guests};
            my $reported = grep { $_->{node} eq $n->{node} } @{ $j->{unplaced} // [] };
            push @errors, "drained node $n->{node} keeps $left guests but $reported are reported unplaced"
                if $left != $reported;
        }
    }
    return @errors;
}

=head3 invariant_errors($answer)

C<($what, @errors)>: which invariants were checked (C<plan>, C<capacity>, C<place>) and what
broke; C<$what> is undef for answers without invariants here (score).

=cut

sub invariant_errors {
    my ($j) = @_;
    my $kind = $j->{kind} // '';
    return ('capacity', capacity_errors($j)) if $kind eq 'capacity';
    return ('place', place_errors($j)) if $kind eq 'place';
    return (undef) if $kind eq 'score';
    return ('plan', plan_errors($j));
}

1;
