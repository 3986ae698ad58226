package PVE::Balancer::Executor::Report;

# What a run tells: the task log lines ("migration 3/12: vm 105 pve1 -> pve3 ... OK (14 s)",
# the before/after summary) and its record in balancer/runs.json (PVE::Balancer::History).
#
# The record lists every planned step from the start ('pending'), and each step's entry is
# updated when it starts ('running', with its task) and ends; the record is written after
# every change, so a run killed at any point leaves a truthful record that
# PVE::Balancer::Recovery can settle. The counters are always derived from that list.

use strict;
use warnings;

use PVE::Balancer::History;

my $record_keys = [qw(number step wave vmid type name from to mode ha result seconds error upid
    task-node started)];
my $numeric_keys = { map { $_ => 1 } qw(number step wave vmid seconds started) };

=head3 guest_label($m)

C<vm 105> or C<ct 108>.

=cut

sub guest_label {
    my ($m) = @_;
    return ($m->{type} eq 'lxc' ? 'ct' : 'vm') . " $m->{vmid}";
}

=head3 move_label($m, $total)

C<migration 3/12: vm 105 pve1 -E<gt> pve3>.

=cut

sub move_label {
    my ($m, $total) = @_;
    return "migration $m->{number}/$total: " . guest_label($m) . " $m->{from} -> $m->{to}";
}

my sub human_bytes {
    my ($bytes) = @_;

    my @units = ('B', 'KiB', 'MiB', 'GiB', 'TiB');
    my $i = 0;
    while ($bytes >= 1024 && $i < $#units) {
        $bytes /= 1024;
        $i++;
    }
    return $i ? sprintf("%.1f %s", $bytes, $units[$i]) : "$bytes B";
}

=head3 entry($m)

The record entry of a step (numbers as numbers).

=cut

sub entry {
    my ($m) = @_;

    my $e = {};
    for my $key (@$record_keys) {
        next if !defined($m->{$key});
        my $value = $m->{$key}; # a copy: keys and interpolation must not touch the plan's data
        $e->{$key} = $numeric_keys->{$key} ? 0 + $value : $value;
    }
    $e->{result} //= 'pending';
    return $e;
}

=head3 new_record($env, $plan, %opts)

The record of a new run of C<$plan> (C<id>, C<kind>, C<user>, C<upid>, C<args>, C<queue>:
the ordered steps).

=cut

sub new_record {
    my ($env, $plan, %opts) = @_;

    my $record = {
        id => $opts{id},
        kind => $opts{kind},
        node => $env->nodename(),
        user => $opts{user} // 'root@pam',
        started => $env->get_time(),
        status => 'running',
        options => { %{ $opts{args} // {} } },
        replans => 0,
        digest => $plan->{digest},
        metrics => {
            before => $plan->{metrics}->{before},
            planned => $plan->{metrics}->{after},
        },
        migrations => [map { entry($_) } @{ $opts{queue} }],
        plan => [
            map {
                my $m = $_;
                my $e = { map { $_ => $m->{$_} } grep { defined($m->{$_}) } qw(from to type mode) };
                $e->{$_} = 0 + $m->{$_} for grep { defined($m->{$_}) } qw(step wave vmid);
                $e
            } @{ $plan->{migrations} // [] }
        ],
    };
    $record->{upid} = $opts{upid} if $opts{upid};
    $record->{nodes} = $plan->{drained} if $plan->{drained};
    $record->{unplaced} = [map { 0 + $_->{vmid} } @{ $plan->{unplaced} // [] }]
        if @{ $plan->{unplaced} // [] };
    PVE::Balancer::History::count($record);
    return $record;
}

=head3 save($ctx)

Writes the run record (counters recomputed); a failure is logged, never fatal.

=cut

sub save {
    my ($ctx) = @_;

    my $env = $ctx->{env};
    PVE::Balancer::History::count($ctx->{record});
    eval { PVE::Balancer::History::record($env, $ctx->{record}, $ctx->{keep}) };
    if (my $err = $@) {
        chomp $err;
        $env->log('warn', "could not record the run - $err");
    }
}

my sub record_entry {
    my ($ctx, $m) = @_;

    my $list = $ctx->{record}->{migrations};
    for my $i (0 .. $#$list) {
        next if $list->[$i]->{number} != $m->{number};
        $list->[$i] = entry($m);
        return;
    }
    push @$list, entry($m);
}

=head3 started($ctx, $m)

Logs the start of C<$m>, marks it running in the record and the lease (see
PVE::Balancer::Executor::track).

=cut

sub started {
    my ($ctx, $m) = @_;

    my $env = $ctx->{env};
    my $cost = $m->{cost} // {};
    my $info = join(', ', grep { defined } (
        $m->{ha} ? 'through HA' : undef,
        $m->{mode},
        $cost->{bytes} ? human_bytes($cost->{bytes}) : undef,
        defined($cost->{seconds}) ? "estimated $cost->{seconds} s" : undef,
    ));
    $m->{result} = 'running';
    record_entry($ctx, $m);
    $ctx->{track}->() if $ctx->{track};
    save($ctx);
    $env->log('info', move_label($m, $ctx->{total}) . ": started ($info)");
}

=head3 finish_step($ctx, $m, $result, $error)

Ends step C<$m> with C<$result> (ok, already, skipped, failed, timeout, not-started): one task
log line, the record entry, the record written.

=cut

sub finish_step {
    my ($ctx, $m, $result, $error) = @_;

    my $env = $ctx->{env};
    my $now = $env->get_time();
    my $seconds = defined($m->{started}) ? $now - $m->{started} : 0;
    $m->{result} = $result;
    $m->{seconds} = $seconds;
    $m->{error} = $error if defined($error);

    my $label = move_label($m, $ctx->{total}) . ($m->{ha} ? ' (HA)' : '');
    if ($result eq 'ok') {
        $env->log('info', "$label ... OK ($seconds s)");
    } elsif ($result eq 'already') {
        $env->log('info', "$label ... OK, $error");
    } elsif ($result eq 'skipped') {
        $env->log('warn', "$label ... SKIPPED: $error");
    } elsif ($result eq 'timeout') {
        $env->log('warn', "$label ... TIMEOUT ($seconds s): $error");
    } elsif ($result eq 'not-started') {
        delete $m->{seconds};
        $env->log('info', "$label ... NOT STARTED" . (defined($error) ? ": $error" : ''));
    } else {
        $env->log('warn', "$label ... FAILED ($seconds s): $error");
    }

    record_entry($ctx, $m);
    $ctx->{track}->() if $ctx->{track} && defined($m->{started});
    save($ctx);
}

my sub metrics_line {
    my ($name, @values) = @_;
    return sprintf("  %-14s%s", $name,
        join('', map { defined($_) ? sprintf("%10.4f", $_) : sprintf("%10s", '-') } @values));
}

=head3 log_summary($ctx, $after)

The closing lines of the task log: counts, what did not complete, metrics before, planned and
after (C<$after>: the engine's score of the cluster after the run, if it could be computed),
and the per-node load.

=cut

sub log_summary {
    my ($ctx, $after) = @_;

    my $env = $ctx->{env};
    my $rec = $ctx->{record};
    my $before = $rec->{metrics}->{before} // {};
    my $planned = $rec->{metrics}->{planned} // {};
    my $actual = $after ? $after->{metrics} : undef;

    $env->log('info', sprintf(
        "summary: %d of %d migration(s) done, %d failed, %d skipped, %d not started"
            . ", %d re-plan(s), %d s",
        $rec->{moved}, $rec->{planned}, $rec->{failed}, $rec->{skipped}, $rec->{'not-started'},
        $rec->{replans}, $rec->{finished} - $rec->{started},
    ));
    for my $m (@{ $rec->{migrations} }) {
        next if $m->{result} eq 'ok' || $m->{result} eq 'already';
        $env->log('info', "  $m->{result}: " . guest_label($m) . " $m->{from} -> $m->{to}"
            . (defined($m->{error}) ? ": $m->{error}" : ''));
    }

    $env->log('info', sprintf("  %-14s%10s%10s%10s", 'metric', 'before', 'planned', 'after'));
    for my $key (qw(imbalance objective)) {
        $env->log('info', metrics_line($key, $before->{$key}, $planned->{$key},
            $actual ? $actual->{$key} : undef));
    }
    for my $res (qw(cpu memory)) {
        for my $stat (qw(max stddev)) {
            $env->log('info', metrics_line("$res $stat", $before->{$res}->{$stat},
                $planned->{$res}->{$stat}, $actual ? $actual->{$res}->{$stat} : undef));
        }
    }

    if ($after) {
        my %before_nodes = map { $_->{node} => $_->{before} } @{ $ctx->{plan_nodes} // [] };
        $env->log('info', sprintf("  %-14s%-20s  %s", 'node', 'cpu before -> after',
            'memory before -> after'));
        for my $n (@{ $after->{nodes} // [] }) {
            my $b = $before_nodes{ $n->{node} } // {};
            my $fmt = sub { defined($_[0]) ? sprintf("%5.1f%%", 100 * $_[0]) : '    -' };
            $env->log('info', sprintf("  %-14s%s -> %s        %s -> %s",
                $n->{node}, $fmt->($b->{cpu}), $fmt->($n->{cpu}->{util}),
                $fmt->($b->{memory}), $fmt->($n->{memory}->{util})));
        }
    }
}

1;
