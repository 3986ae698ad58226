package PVE::Balancer::Sim::TestHardware;

# Runs one simulator test (modelled on pve-ha-manager's PVE::HA::Sim::TestHardware): a
# simulated cluster (PVE::Balancer::Sim::Hardware), pve-balancerd's part played by a small
# model of its triggers (docs/daemon.md: interval, pressure after psi-debounce and psi-holdoff,
# configuration changes that matter, coalescing, SIGTERM on quorum loss, no cycle without
# quorum), and the real PVE::Balancer::Manager cycles, in-process, on the simulator's
# environment (PVE::Balancer::Sim::Env). Every line goes to the log, which the test compares
# with its reviewed log.expect.
#
# A test directory (tests/sim/test-*/, see tests/sim/README) holds:
#
#   README         what the test shows
#   cluster.json   the cluster (see PVE::Balancer::Sim::Hardware), plus optional 'start'
#                  (epoch, default 2025-12-01 00:00 UTC, a Monday), 'trace' ({file, from,
#                  steps}: guest load every 'step' seconds from a trace file), 'node' (where
#                  the cycles run, default the lowest node id online)
#   balancer.cfg   optional, the configuration at the start
#   jobs.cfg       optional, /etc/pve/jobs.cfg (backup jobs)
#   cmdlist        JSON list of [WHEN, COMMAND]: WHEN is seconds, or '30m', '2h10m', '1d', or
#                  'dN HH:MM' (day N from the start, time of day); the commands are listed in
#                  tests/sim/README
#   log.expect     the reviewed log

use strict;
use warnings;

use JSON;
use POSIX qw(floor);

use PVE::Balancer::Config;
use PVE::Balancer::Env;
use PVE::Balancer::History;
use PVE::Balancer::Manager;
use PVE::Balancer::Planner;
use PVE::Balancer::Sim::Env;
use PVE::Balancer::Sim::Hardware;

our $default_start = 1764547200; # 2025-12-01 00:00:00 UTC, a Monday

# keys that do not change what a plan would be (pve-balancerd's native/daemon/daemon_config.cpp
# is_bookkeeping_key, and its own keys): changing them does not start a cycle
my $not_plan_inputs = { map { $_ => 1 } qw(ha-imbalance ha-scheduler history max-replans
    migration-timeout on-failure interval psi-cpu psi-memory psi-io psi-window psi-debounce
    psi-holdoff cycle-timeout cycle-grace notify capacity-target) };

my sub slurp {
    my ($file) = @_;
    open(my $fh, '<', $file) or die "unable to read '$file' - $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return $text;
}

=head3 new($class, $dir, %opts)

A test from the directory C<$dir>, or from C<%opts> (for replays without a directory):
C<cluster> (the decoded cluster.json), C<cfg> (balancer.cfg text), C<cmdlist>, C<trace> (a
decoded trace with C<from> and C<steps>), C<placements> (a file handle that gets the placement
at every trace step as a JSON line C<[time, {vmid: node}]>), C<score> (0: do not score the
trace steps).

=cut

sub new {
    my ($class, $dir, %opts) = @_;

    my $cluster = $opts{cluster} // JSON->new->relaxed->decode(slurp("$dir/cluster.json"));
    my $trace = $opts{trace} // $cluster->{trace};
    if ($trace && !$trace->{series}) {
        my $file = $trace->{file} =~ m!^/! ? $trace->{file} : "$dir/$trace->{file}";
        $trace = { %{ JSON->new->decode(slurp($file)) }, %$trace };
    }
    if ($trace && !$cluster->{nodes}) { # the trace's cluster, the guests at their first load
        $cluster = { %$cluster, nodes => $trace->{nodes}, guests => {
            map { $_ => { %{ $trace->{guests}->{$_} }, cpu => 0, mem => 0 } }
                keys %{ $trace->{guests} } } };
    }
    my $self = bless {
        dir => $dir,
        lines => [],
        start => $cluster->{start} // $default_start,
        cycle_seq => 0,
        last_start => undef,
        last_end => undef,
        pending => {},
        running => 0,
        decisions => {},
        trace_imbalance => [],
        placements => $opts{placements},
        score => $opts{score} // 1,
    }, $class;

    $self->{hw} = PVE::Balancer::Sim::Hardware->new(
        cluster => $cluster,
        start => $self->{start},
        log => sub { $self->log(@_) },
    );
    my $hw = $self->{hw};
    if (defined($opts{cfg})) {
        $hw->{files}->{'balancer.cfg'} = $opts{cfg};
    } elsif (defined($dir) && -f "$dir/balancer.cfg") {
        $hw->{files}->{'balancer.cfg'} = slurp("$dir/balancer.cfg");
    }
    $hw->{files}->{'jobs.cfg'} = slurp("$dir/jobs.cfg") if defined($dir) && -f "$dir/jobs.cfg";
    $self->{fixed_node} = $cluster->{node};

    $self->{env} = PVE::Balancer::Env->new('PVE::Balancer::Sim::Env',
        hardware => $hw,
        nodename => $self->active_node() // 'none',
        log => sub {
            my ($level, $msg) = @_;
            return if $msg =~ m/^\s/ && $msg !~ m/:/; # the metric tables of a run summary
            $self->log($level eq 'notify' ? 'notify' : $level, $level eq 'notify' ? 'notify'
                : 'manager', $msg);
        },
    );

    $self->{cmdlist} = $opts{cmdlist} // JSON->new->relaxed->decode(slurp("$dir/cmdlist"));
    die "cmdlist: expected a list of [WHEN, COMMAND]\n" if ref($self->{cmdlist}) ne 'ARRAY';
    $self->load_trace($trace) if $trace;
    return $self;
}

sub when_text {
    my ($self, $t) = @_;

    my $off = $t - $self->{start};
    my @g = gmtime($t);
    my $day = floor($off / 86400);
    return sprintf("d%d %s %02d:%02d:%02d", $day, (qw(Sun Mon Tue Wed Thu Fri Sat))[$g[6]],
        $g[2], $g[1], $g[0]);
}

sub log {
    my ($self, $level, $who, $msg) = @_;

    chomp $msg;
    $level = 'info' if $level eq 'notify';
    my $line = sprintf("%-5s %s %10s: %s", $level, $self->when_text($self->{hw}->now()), $who,
        $msg);
    push @{ $self->{lines} }, $line;
}

sub lines {
    my ($self) = @_;
    return $self->{lines};
}

sub parse_when {
    my ($self, $when) = @_;

    return $self->{start} + $when if $when =~ m/^\d+$/;
    if ($when =~ m/^(?:\d+[smhd])+$/) {
        my $t = 0;
        $t += $1 * { s => 1, m => 60, h => 3600, d => 86400 }->{$2} while $when =~ m/(\d+)([smhd])/g;
        return $self->{start} + $t;
    }
    if ($when =~ m/^d(\d+) (\d{1,2}):(\d{2})$/) {
        return $self->{start} + $1 * 86400 + $2 * 3600 + $3 * 60;
    }
    die "cmdlist: cannot read the time '$when'\n";
}

# --- the trace -------------------------------------------------------------------------------

sub load_trace {
    my ($self, $spec) = @_;

    my $t = $spec;
    my $step = $t->{step} // 300;
    my $from = $spec->{from} // 0;
    my $steps = $spec->{steps} // (scalar(@{ (values %{ $t->{series} })[0]->{cpu} }) - $from);
    my $hw = $self->{hw};
    for my $k (0 .. $steps - 1) {
        my $i = $from + $k;
        $hw->at($self->{start} + $k * $step, 'trace', sub {
            for my $vmid (sort { $a <=> $b } keys %{ $t->{series} }) {
                my $g = $hw->{guests}->{$vmid} or next;
                my $s = $t->{series}->{$vmid};
                $g->{cpu} = $s->{cpu}->[$i] // $g->{cpu};
                $g->{mem} = int(($s->{mem}->[$i] // 0) * $g->{maxmem}) if $s->{mem};
            }
            $hw->record_loads();
            $self->score_trace_step();
        });
    }
    $self->{trace} = { step => $step, steps => $steps };
    $self->{trace_end} = $self->{start} + $steps * $step;
}

# The imbalance of the cluster as it is now (Proxmox's CRS measure, scored by the engine on
# the current load), for the time average of a trace replay.
sub score_trace_step {
    my ($self) = @_;

    if (my $out = $self->{placements}) {
        my $guests = $self->{hw}->{guests};
        print $out JSON->new->canonical->encode([$self->{hw}->now(),
            { map { $_ => $guests->{$_}->{node} } keys %$guests }]), "\n";
    }
    return if !$self->{score};
    my $env = $self->{env};
    my $cfg = PVE::Balancer::Config::parse_config(undef, "rrd-window: 0\n");
    my $snapshot = PVE::Balancer::Planner::collect($env, $cfg, rrd => 0);
    my $score = PVE::Balancer::Planner::call_engine('score', $snapshot);
    push @{ $self->{trace_imbalance} }, $score->{metrics}->{imbalance};
}

# --- the daemon's part ------------------------------------------------------------------------

sub active_node {
    my ($self) = @_;

    my $hw = $self->{hw};
    return $self->{fixed_node} if $self->{fixed_node};
    my ($best) = sort { $hw->{nodes}->{$a}->{id} <=> $hw->{nodes}->{$b}->{id} }
        grep { $hw->{nodes}->{$_}->{online} } keys %{ $hw->{nodes} };
    return $best;
}

sub cfg_eff {
    my ($self) = @_;
    return PVE::Balancer::Config::effective(PVE::Balancer::Config::load($self->{env}));
}

sub trigger {
    my ($self, $kind, $at, $detail) = @_;

    my $p = $self->{pending}->{$kind};
    $self->{pending}->{$kind} = { at => $at, detail => $detail }
        if !$p || $at < $p->{at};
}

# The next cycle: the earliest due trigger (interval when auto is on); undef if none.
sub next_cycle {
    my ($self) = @_;

    # without quorum the daemon starts nothing; what is due starts when quorum is back
    return undef if !$self->{hw}->{quorate};
    my $eff = $self->cfg_eff();
    my %due = map { $_ => $self->{pending}->{$_}->{at} } keys %{ $self->{pending} };
    if ($eff->{auto}) {
        my $base = $self->{last_start} // $self->{start};
        $due{interval} = $base + $eff->{interval} * 60;
    }
    delete $due{$_} for grep { $_ ne 'manual' && !$eff->{auto} } keys %due;
    return undef if !%due;
    my ($first) = sort { $a <=> $b } values %due;
    my @kinds = sort grep { $due{$_} == $first } keys %due;
    # overdue (quorum was lost): at once, with everything that is overdue
    if ($first < $self->{hw}->now()) {
        @kinds = sort grep { $due{$_} <= $self->{hw}->now() } keys %due;
        $first = $self->{hw}->now();
    }
    return ($first, \@kinds);
}

sub run_cycle {
    my ($self, $kinds) = @_;

    my $hw = $self->{hw};
    my $env = $self->{env};
    if (!$hw->{quorate}) {
        $self->log('info', 'daemon', "not quorate: no cycle");
        delete $self->{pending}->{$_} for @$kinds;
        return;
    }
    my $node = $self->active_node();
    $env->plug->{nodename} = $node;
    my $now = $hw->now();
    my $id = sprintf("%s-%d-%d", $node, $now, ++$self->{cycle_seq});
    my @details = map { $self->{pending}->{$_} ? $self->{pending}->{$_}->{detail} // () : () }
        @$kinds;
    my $trigger = join(',', @$kinds);
    delete $self->{pending}->{$_} for @$kinds;
    my $eff = $self->cfg_eff();
    $self->log('info', 'daemon', "starting cycle $id on $node ($trigger"
        . (@details ? ": " . join('; ', @details) : '') . ")");
    $self->{running} = 1;
    $self->{last_start} = $now;
    my $m = PVE::Balancer::Manager->new($env, id => $id, trigger => $trigger,
        detail => join('; ', @details), deadline => $now + ($eff->{'cycle-timeout'} // 21600));
    my $code = eval { $m->cycle() };
    if (my $err = $@) {
        chomp $err;
        $self->log('warn', 'daemon', "cycle $id died: $err");
        $code = 1;
    }
    $self->{running} = 0;
    $self->{last_end} = $hw->now();
    my $result = $self->{sigterm} ? 'cancelled' : $code == 0 ? 'ok' : $code == 75 ? 'skipped'
        : 'failed';
    $self->{sigterm} = 0;
    my $decision = $m->result() ? $m->result()->{decision} : 'none';
    $self->{decisions}->{$decision}++;
    $self->log('info', 'daemon', "cycle $id finished after " . ($hw->now() - $now)
        . " s ($result, exit code $code)");
}

# --- commands ---------------------------------------------------------------------------------

my sub kv_args {
    my (@words) = @_;
    return { map { m/^([\w-]+)=(.*)$/ ? ($1 => $2) : ($_ => 1) } @words };
}

sub command {
    my ($self, $cmd) = @_;

    my $hw = $self->{hw};
    my $env = $self->{env};
    my ($what, @args) = split(/\s+/, $cmd);
    $self->log('info', 'cmdlist', "execute $cmd");

    if ($what eq 'load') {
        my ($ids, @rest) = @args;
        my $set = kv_args(@rest);
        for my $vmid (split(/,/, $ids)) {
            my %s;
            $s{cpu} = $set->{cpu} + 0 if defined($set->{cpu});
            $s{mem} = int($set->{mem} * 1024**3) if defined($set->{mem});
            $hw->set_guest_load($vmid, %s);
        }
    } elsif ($what eq 'node') {
        my ($name, $state) = @args;
        $hw->set_node_online($name, $state eq 'on');
    } elsif ($what eq 'maintenance') {
        my ($name, $state) = @args;
        $hw->set_maintenance($name, $state eq 'on');
    } elsif ($what eq 'config') {
        my $cfg = PVE::Balancer::Config::load($env);
        my ($set, $delete) = ({}, []);
        my $key = $args[0] eq 'delete' ? $args[1] : $args[0];
        if ($args[0] eq 'delete') {
            $delete = [$key];
        } else {
            $set->{$key} = join(' ', @args[1 .. $#args]);
        }
        my $text = PVE::Balancer::Config::update($cfg, $set, $delete);
        eval { PVE::Balancer::Config::save($env, $text) };
        if (my $err = $@) {
            chomp $err;
            $self->log('warn', 'cmdlist', "config not written: $err");
            return;
        }
        my $eff = $self->cfg_eff();
        if ($key eq 'auto' && !$eff->{auto} && $self->{running}) {
            $self->log('info', 'daemon', "auto switched off: telling the cycle to stop");
            $self->{sigterm} = 1;
            kill('TERM', $$);
        }
        if (!$not_plan_inputs->{$key} && $eff->{auto}) {
            $self->trigger('config', $hw->now() + 5, "configuration change ($key)");
        }
    } elsif ($what eq 'pressure') {
        my ($node) = @args;
        my $eff = $self->cfg_eff();
        my $at = $hw->now() + $eff->{'psi-debounce'};
        my $holdoff = defined($self->{last_end}) ? $self->{last_end} + $eff->{'psi-holdoff'} : 0;
        $at = $holdoff if $holdoff > $at;
        $self->trigger('pressure', $at, "pressure on $node");
    } elsif ($what eq 'cycle') {
        $self->trigger($args[0] // 'manual', $hw->now(), 'started by hand');
    } elsif ($what eq 'migration') {
        my ($vmid, @rest) = @args;
        my $b = kv_args(@rest);
        $b->{fail} =~ s/_/ /g if defined($b->{fail});
        $hw->{behaviour}->{$vmid} = $b;
    } elsif ($what eq 'crs-move') {
        my ($vmid, $target) = @args;
        my $g = $hw->{guests}->{$vmid};
        my $sid = ($g->{type} eq 'lxc' ? 'ct' : 'vm') . ":$vmid";
        $self->log('info', 'crs', "auto rebalance - migrate $sid to $target");
        $hw->ha_queue("migrate $sid $target");
    } elsif ($what eq 'move') {
        # by hand (not through the balancer): the admin's own migration
        my ($vmid, $target) = @args;
        eval { $hw->start_migration($vmid, $target, { online => 1 }, by => 'admin') };
        $self->log('warn', 'cmdlist', "move failed: $@") if $@;
    } elsif ($what eq 'quorum') {
        my $on = ($args[0] // '') eq 'on';
        $hw->{quorate} = $on ? 1 : 0;
        if (!$on && $self->{running}) {
            $self->log('info', 'daemon', "quorum lost: telling the cycle to stop");
            $self->{sigterm} = 1;
            kill('TERM', $$);
        }
    } elsif ($what eq 'sigterm') {
        if ($self->{running}) {
            $self->log('info', 'daemon', "telling the cycle to stop: shutdown");
            $self->{sigterm} = 1;
            kill('TERM', $$);
        } else {
            $self->log('info', 'daemon', "no cycle running");
        }
    } elsif ($what eq 'apply') {
        # a run from the API (Datacenter -> Balance -> Apply), as root
        my $args = kv_args(@args);
        my $m = PVE::Balancer::Manager->new($env);
        my ($plan) = eval { $m->plan('balance', { map { $_ => $args->{$_} } keys %$args }) };
        if (my $err = $@) {
            chomp $err;
            $self->log('warn', 'api', "plan failed: $err");
            return;
        }
        my $id = sprintf("UPID:%s:manual:%d", $self->active_node(), $hw->now());
        eval { $m->apply($plan, kind => 'balance', upid => $id, user => 'root@pam') };
        if (my $err = $@) {
            chomp $err;
            $self->log('info', 'api', "run ended: $err");
        }
    } else {
        die "cmdlist: unknown command '$cmd'\n";
    }
}

# --- the run ---------------------------------------------------------------------------------

sub run {
    my ($self) = @_;

    my $hw = $self->{hw};
    $self->log('info', 'hardware', "starting simulation");
    # the simulation ends at the 'end' command, else an hour after the last command or with
    # the trace
    my ($end, $last);
    for my $entry (@{ $self->{cmdlist} }) {
        my ($when, $cmd) = @$entry;
        my $t = $self->parse_when($when);
        $last = $t if !defined($last) || $t > $last;
        if ($cmd eq 'end') {
            $end = $t;
            next;
        }
        $hw->at($t, "cmdlist $cmd", sub { $self->command($cmd) });
    }
    $end //= ($last // $self->{start}) + 3600;
    $end = $self->{trace_end} if $self->{trace_end} && $self->{trace_end} > $end;
    $self->{end} = $end;

    for (my $guard = 0; $guard < 100_000; $guard++) {
        my ($due, $kinds) = $self->next_cycle();
        my $next_ev = $hw->next_event_time();
        my $end = $self->{end};
        if (defined($due) && $due <= $end && (!defined($next_ev) || $due <= $next_ev)) {
            # events of the cycle's second come first (a command may add a trigger), then the
            # triggers due are looked at again
            if ($due > $hw->now() || (defined($next_ev) && $next_ev <= $hw->now())) {
                $hw->advance($due - $hw->now());
                next;
            }
            $self->run_cycle($kinds);
            next;
        }
        last if !defined($next_ev) || $next_ev > $end;
        $hw->advance($next_ev - $hw->now());
    }
    $hw->advance($self->{end} - $hw->now()) if $self->{end} > $hw->now();
    $self->summary();
    return $self->{lines};
}

sub summary {
    my ($self) = @_;

    my $hw = $self->{hw};
    my @moves = @{ $hw->{moves} };
    my $by = {};
    $by->{ $_->{by} }++ for @moves;
    my $back = 0;
    my %last;
    for my $m (sort { $a->{time} <=> $b->{time} || $a->{vmid} <=> $b->{vmid} } @moves) {
        my $prev = $last{ $m->{vmid} };
        $back++ if $prev && $prev->{from} eq $m->{to} && $m->{started} - $prev->{started} < 3600;
        $last{ $m->{vmid} } = $m;
    }
    my $span = ($self->{end} - $self->{start}) / 86400;
    $self->log('info', 'summary', sprintf("%d migration(s)%s, %.1f per day; moved back within"
        . " an hour: %d", scalar(@moves),
        %$by ? ' (' . join(', ', map { "$by->{$_} $_" } sort keys %$by) . ')' : '',
        $span > 0 ? @moves / $span : 0, $back));
    my $d = $self->{decisions};
    $self->log('info', 'summary', "cycles: "
        . (join(', ', map { "$d->{$_} $_" } sort keys %$d) || 'none'));
    if (my $imb = $self->{trace_imbalance}) {
        if (@$imb) {
            my $sum = 0;
            $sum += $_ for @$imb;
            $self->log('info', 'summary', sprintf("mean imbalance over %d trace steps: %.4f",
                scalar(@$imb), $sum / @$imb));
        }
    }
    my @notes = @{ $hw->{notifications} };
    my $sev = {};
    $sev->{"$_->{severity} $_->{template}"}++ for @notes;
    $self->log('info', 'summary', "notifications: "
        . (join(', ', map { "$sev->{$_} $_" } sort keys %$sev) || 'none'));
}

1;
