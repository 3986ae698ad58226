package PVE::Balancer::Sim::Hardware;

# The simulated cluster of the balancing simulator (modelled on pve-ha-manager's
# PVE::HA::Sim::Hardware): nodes with their load, guests with theirs, migrations that take
# time and can fail, the HA manager's CRM (commands, HA migrations, recovery of a dead node's HA
# guests, maintenance), pmxcfs (files, quorum: read-only without it), and a fake clock. Nothing
# happens until advance() is called, and everything happens in a fixed order, so the same input
# gives the same log.
#
# Load model (the one of docs/algorithms.md and bench/): a node's CPU is its overhead plus the
# CPU of its running guests (a guest's 'cpu' is a fraction of its 'maxcpu' cores), the same
# for memory; a guest that is migrating loads both its source and its target. The RRD history
# is kept as the exact piecewise-constant load, so the averages over 'rrd-window' minutes are
# exact.
#
# Cluster description (cluster.json of a simulator test, see tests/sim/README):
#
#   nodes      { name => { id, maxcpu, maxmem, overhead-cpu (cores), overhead-mem (bytes),
#                          online (default 1) } }
#   guests     { vmid => { type (qemu), name, node, status (running), maxcpu, maxmem, cpu
#                          (fraction of maxcpu), mem (bytes), tags, lock, pool, ha (HA
#                          resource state, e.g. 'started'), auto-rebalance (0/1, HA) } }
#   datacenter { crs => { ha => 'static', 'ha-auto-rebalance' => 1 } }
#   behaviour  { vmid => { duration => s, fail => 'message', hang => 1 } }
#   bandwidth  bytes per second of a simulated live migration (default 1 GiB/s)

use strict;
use warnings;

use List::Util qw(max min);

use constant GiB => 1024**3;

our $crm_round = 10; # seconds between two rounds of the simulated CRM
our $fence_delay = 120; # a dead node's HA guests restart elsewhere after this long

sub new {
    my ($class, %args) = @_;

    my $c = $args{cluster} // {};
    my $self = bless {
        time => $args{start} // 0,
        start => $args{start} // 0,
        nodes => {},
        guests => {},
        datacenter => $c->{datacenter} // {},
        behaviour => $c->{behaviour} // {},
        bandwidth => $c->{bandwidth} // GiB,
        files => {},
        quorate => 1,
        tasks => {},
        task_counter => 0,
        events => [],
        event_seq => 0,
        ha => { ids => {}, service_status => {}, node_status => {}, commands => '', jobs => {} },
        hist => {},
        notifications => [],
        moves => [],
        logger => $args{log} // sub { },
    }, $class;

    for my $name (sort keys %{ $c->{nodes} // {} }) {
        my $n = $c->{nodes}->{$name};
        $self->{nodes}->{$name} = {
            id => $n->{id} // 1,
            maxcpu => $n->{maxcpu},
            maxmem => $n->{maxmem},
            'overhead-cpu' => $n->{'overhead-cpu'} // 0,
            'overhead-mem' => $n->{'overhead-mem'} // 0,
            online => $n->{online} // 1,
        };
    }
    for my $vmid (sort { $a <=> $b } keys %{ $c->{guests} // {} }) {
        my $g = $c->{guests}->{$vmid};
        die "guest $vmid: unknown node '" . ($g->{node} // '') . "'\n"
            if !$self->{nodes}->{ $g->{node} // '' };
        $self->{guests}->{$vmid} = {
            type => $g->{type} // 'qemu',
            name => $g->{name} // "vm$vmid",
            node => $g->{node},
            status => $g->{status} // 'running',
            maxcpu => $g->{maxcpu} // 1,
            maxmem => $g->{maxmem} // GiB,
            cpu => $g->{cpu} // 0,
            mem => $g->{mem} // 0,
            tags => $g->{tags},
            lock => $g->{lock},
            pool => $g->{pool},
            template => $g->{template} ? 1 : 0,
        };
        if (defined(my $state = $g->{ha})) {
            my $sid = ($g->{type} // 'qemu') eq 'lxc' ? "ct:$vmid" : "vm:$vmid";
            my $r = { type => ($g->{type} // 'qemu') eq 'lxc' ? 'ct' : 'vm', state => $state };
            $r->{'auto-rebalance'} = $g->{'auto-rebalance'} if defined($g->{'auto-rebalance'});
            $self->{ha}->{ids}->{$sid} = $r;
            $self->{ha}->{service_status}->{$sid} = { node => $g->{node},
                state => $state eq 'started' ? 'started' : $state };
        }
    }
    $self->{ha}->{node_status}->{$_} = $self->{nodes}->{$_}->{online} ? 'online' : 'unknown'
        for keys %{ $self->{nodes} };
    $self->record_loads();
    return $self;
}

sub log {
    my ($self, $level, $who, $msg) = @_;
    $self->{logger}->($level, $who, $msg);
}

sub now {
    my ($self) = @_;
    return $self->{time};
}

=head3 at($time, $label, $code)

Runs C<$code-E<gt>($self)> when the clock reaches C<$time> (absolute). Events of the same
second run in the order they were added.

=cut

sub at {
    my ($self, $time, $label, $code) = @_;

    $time = $self->{time} if $time < $self->{time};
    push @{ $self->{events} }, [$time, ++$self->{event_seq}, $label, $code];
    @{ $self->{events} } = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }
        @{ $self->{events} };
}

sub next_event_time {
    my ($self) = @_;
    return @{ $self->{events} } ? $self->{events}->[0]->[0] : undef;
}

=head3 advance($seconds)

Moves the clock on by C<$seconds>, running the events that come due on the way.

=cut

sub advance {
    my ($self, $seconds) = @_;

    my $target = $self->{time} + $seconds;
    while (@{ $self->{events} } && $self->{events}->[0]->[0] <= $target) {
        my $ev = shift @{ $self->{events} };
        $self->{time} = $ev->[0] if $ev->[0] > $self->{time};
        $ev->[3]->($self);
    }
    $self->{time} = $target if $target > $self->{time};
}

# --- load ---------------------------------------------------------------------------------

sub guest_load {
    my ($self, $g) = @_;

    return (0, 0) if $g->{status} ne 'running';
    return ($g->{cpu} * $g->{maxcpu}, $g->{mem});
}

=head3 node_load($node)

CPU (cores) and memory (bytes) in use on C<$node>: its overhead, its running guests, and the
guests migrating to it.

=cut

sub node_load {
    my ($self, $name) = @_;

    my $n = $self->{nodes}->{$name};
    return (0, 0) if !$n->{online};
    my ($cpu, $mem) = ($n->{'overhead-cpu'}, $n->{'overhead-mem'});
    for my $vmid (keys %{ $self->{guests} }) {
        my $g = $self->{guests}->{$vmid};
        next if $g->{node} ne $name && ($g->{'moving-to'} // '') ne $name;
        my ($c, $m) = $self->guest_load($g);
        $cpu += $c;
        $mem += $m;
    }
    return ($cpu, $mem);
}

=head3 record_loads()

Notes the current load of every node and guest in the RRD history (called after every
change).

=cut

sub record_loads {
    my ($self) = @_;

    my $t = $self->{time};
    my $add = sub {
        my ($key, $cpu, $mem) = @_;
        my $h = $self->{hist}->{$key} //= [];
        return if @$h && $h->[-1]->[1] == $cpu && $h->[-1]->[2] == $mem;
        pop @$h if @$h && $h->[-1]->[0] == $t;
        push @$h, [$t, $cpu, $mem];
        # an hour is all rrd-window can ask for
        shift @$h while @$h > 2 && $h->[1]->[0] <= $t - 3600;
    };
    for my $name (sort keys %{ $self->{nodes} }) {
        my $n = $self->{nodes}->{$name};
        my ($cpu, $mem) = $self->node_load($name);
        $add->("node/$name", $n->{maxcpu} ? min(1, $cpu / $n->{maxcpu}) : 0,
            min($n->{maxmem}, $mem));
    }
    for my $vmid (sort { $a <=> $b } keys %{ $self->{guests} }) {
        my $g = $self->{guests}->{$vmid};
        next if $g->{status} ne 'running';
        $add->("vm/$vmid", $g->{cpu}, $g->{mem});
    }
}

=head3 rrd_average($key, $minutes)

The average CPU and memory of C<node/NAME> or C<vm/VMID> over the last C<$minutes> minutes,
from the exact history: C<{cpu, mem}>, or undef without history.

=cut

sub rrd_average {
    my ($self, $key, $minutes) = @_;

    my $h = $self->{hist}->{$key} // return undef;
    return undef if !@$h;
    my $now = $self->{time};
    my $from = $now - $minutes * 60;
    $from = $h->[0]->[0] if $from < $h->[0]->[0];
    return { cpu => $h->[-1]->[1], mem => $h->[-1]->[2] } if $now <= $from;
    my ($cpu, $mem) = (0, 0);
    for my $i (0 .. $#$h) {
        my $a = max($h->[$i]->[0], $from);
        my $b = $i < $#$h ? min($h->[$i + 1]->[0], $now) : $now;
        next if $b <= $a;
        $cpu += $h->[$i]->[1] * ($b - $a);
        $mem += $h->[$i]->[2] * ($b - $a);
    }
    my $span = $now - $from;
    return { cpu => $cpu / $span, mem => $mem / $span };
}

# --- guests, tasks and migrations ----------------------------------------------------------

sub set_guest_load {
    my ($self, $vmid, %set) = @_;

    my $g = $self->{guests}->{$vmid} or die "no guest $vmid\n";
    $g->{$_} = $set{$_} for keys %set;
    $self->record_loads();
}

my sub new_upid {
    my ($self, $node, $dtype, $id) = @_;

    my $n = ++$self->{task_counter};
    return sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:root\@pam:", $node, 10000 + $n, 20000 + $n,
        $self->{time}, $dtype, $id);
}

# The end of a migration: the guest is on its target, or back on its source.
my sub end_migration {
    my ($self, $upid, $status) = @_;

    my $t = $self->{tasks}->{$upid} or return;
    return if !$t->{running};
    my $g = $self->{guests}->{ $t->{vmid} };
    delete $g->{'moving-to'};
    delete $g->{lock} if ($g->{lock} // '') eq 'migrate';
    if ($status eq 'OK') {
        $g->{node} = $t->{target};
        push @{ $self->{moves} }, { vmid => 0 + $t->{vmid}, from => $t->{from},
            to => $t->{target}, started => $t->{started}, time => $self->{time},
            by => $t->{by} // 'balancer' };
        $self->log('info', 'hardware', "vm $t->{vmid}: migration $t->{from} -> $t->{target}"
            . " finished (" . ($self->{time} - $t->{started}) . " s)");
    } else {
        $self->log('info', 'hardware', "vm $t->{vmid}: migration $t->{from} -> $t->{target}"
            . " failed: $status");
    }
    $t->{running} = 0;
    $t->{exitstatus} = $status;
    $self->record_loads();
}

=head3 start_migration($vmid, $target, $params, %opts)

What qemu-server's and pve-container's migrate_vm do before their task runs: the checks that
die at once, then a task that ends after the migration's duration. Returns the UPID.

=cut

sub start_migration {
    my ($self, $vmid, $target, $params, %opts) = @_;

    my $g = $self->{guests}->{$vmid};
    my $what = $g && $g->{type} eq 'lxc' ? 'CT' : 'VM';
    die "Configuration file 'nodes/.../$vmid.conf' does not exist\n" if !$g;
    my $from = $g->{node};
    die "target is local node.\n" if $target eq $from;
    my $tn = $self->{nodes}->{$target} or die "no such cluster node '$target'\n";
    die "$what is locked ($g->{lock})\n" if $g->{lock};
    die "node '$from' is not online\n" if !$self->{nodes}->{$from}->{online};
    die "target node '$target' is not online\n" if !$tn->{online};
    my $running = $g->{status} eq 'running';
    if ($running && $g->{type} eq 'qemu' && !$params->{online}) {
        die "can't migrate running VM without --online\n";
    }
    if ($running && $g->{type} eq 'lxc' && !$params->{restart}) {
        die "lxc live migration is currently not implemented\n";
    }

    my $b = $self->{behaviour}->{$vmid} // {};
    my $duration = $b->{duration} // ($g->{type} eq 'lxc'
        ? 30 : 5 + int(($running ? $g->{mem} : 0) / $self->{bandwidth}));
    my $upid = new_upid($self, $from, $g->{type} eq 'lxc' ? 'vzmigrate' : 'qmigrate', $vmid);
    $g->{lock} = 'migrate';
    $g->{'moving-to'} = $target if $running;
    $self->{tasks}->{$upid} = { upid => $upid, node => $from, vmid => $vmid, from => $from,
        target => $target, running => 1, started => $self->{time}, by => $opts{by} };
    $self->log('info', 'hardware', "vm $vmid: migration $from -> $target started");
    $self->record_loads();
    if (!$b->{hang}) {
        $self->at($self->{time} + $duration, "migration $upid", sub {
            my $t = $self->{tasks}->{$upid};
            return if !$t->{running};
            end_migration($self, $upid, $b->{fail} // 'OK');
        });
    }
    return $upid;
}

sub task_status {
    my ($self, $upid) = @_;

    my $t = $self->{tasks}->{$upid} or die "no such task '$upid'\n";
    return { running => 1 } if $t->{running};
    return { running => 0, exitstatus => $t->{exitstatus} };
}

sub stop_task {
    my ($self, $upid) = @_;

    my $t = $self->{tasks}->{$upid} or return;
    end_migration($self, $upid, 'migration aborted') if $t->{running};
}

# --- nodes ---------------------------------------------------------------------------------

=head3 set_node_online($node, $online)

Powers a node off or on. Off: its migrations fail, its guests stop (their HA resources are
recovered on another node after $fence_delay seconds). On: it joins again, empty of the
guests that were recovered.

=cut

sub set_node_online {
    my ($self, $name, $online) = @_;

    my $n = $self->{nodes}->{$name} or die "no node '$name'\n";
    $n->{online} = $online ? 1 : 0;
    if (!$online) {
        for my $upid (sort keys %{ $self->{tasks} }) {
            my $t = $self->{tasks}->{$upid};
            next if !$t->{running} || ($t->{from} ne $name && $t->{target} ne $name);
            end_migration($self, $upid, "migration aborted: node '$name' is unreachable");
        }
        $self->{ha}->{node_status}->{$name} = 'unknown';
        for my $sid (sort keys %{ $self->{ha}->{jobs} }) {
            my $job = $self->{ha}->{jobs}->{$sid};
            next if $job->{from} ne $name && $job->{target} ne $name;
            $job->{aborted} = 1;
            my ($vmid) = $sid =~ m/:(\d+)$/;
            my $g = $self->{guests}->{$vmid};
            delete $g->{'moving-to'};
            delete $g->{lock};
            my $sd = $self->{ha}->{service_status}->{$sid};
            $sd->{state} = 'started';
            delete $sd->{target};
            $self->log('info', 'crm', "$sid: migration to $job->{target} aborted: node $name"
                . " is gone");
        }
        for my $vmid (sort { $a <=> $b } keys %{ $self->{guests} }) {
            my $g = $self->{guests}->{$vmid};
            next if $g->{node} ne $name || $g->{status} ne 'running';
            $g->{status} = 'stopped';
            $g->{'lost-on'} = $name;
        }
        $self->at($self->{time} + $fence_delay, "fence $name", sub { $self->recover($name) });
    } else {
        $self->{ha}->{node_status}->{$name} = 'online';
    }
    $self->record_loads();
}

=head3 set_maintenance($node, $on)

HA maintenance of a node (ha-manager crm-command node-maintenance): no target for anything,
its HA guests are moved away by the CRM.

=cut

sub set_maintenance {
    my ($self, $name, $on) = @_;

    $self->{ha}->{node_status}->{$name} = $on ? 'maintenance' : 'online';
    return if !$on;
    for my $sid (sort keys %{ $self->{ha}->{service_status} }) {
        my $sd = $self->{ha}->{service_status}->{$sid};
        next if $sd->{node} ne $name || $sd->{state} ne 'started';
        my $target = $self->least_loaded(exclude => $name) // next;
        $self->{ha}->{commands} .= "migrate $sid $target\n";
        $self->schedule_crm();
    }
}

sub least_loaded {
    my ($self, %opts) = @_;

    my ($best, $best_load);
    for my $name (sort keys %{ $self->{nodes} }) {
        my $n = $self->{nodes}->{$name};
        next if !$n->{online} || $name eq ($opts{exclude} // '');
        next if ($self->{ha}->{node_status}->{$name} // '') eq 'maintenance';
        my ($cpu, $mem) = $self->node_load($name);
        my $load = ($cpu / $n->{maxcpu} + $mem / $n->{maxmem}) / 2;
        ($best, $best_load) = ($name, $load) if !defined($best) || $load < $best_load;
    }
    return $best;
}

# pve-ha-manager recovers the HA guests of a fenced node on the others; plain guests stay down
sub recover {
    my ($self, $name) = @_;

    return if $self->{nodes}->{$name}->{online};
    for my $sid (sort keys %{ $self->{ha}->{service_status} }) {
        my $sd = $self->{ha}->{service_status}->{$sid};
        next if $sd->{node} ne $name;
        my ($vmid) = $sid =~ m/:(\d+)$/;
        my $g = $self->{guests}->{$vmid};
        my $target = $self->least_loaded(exclude => $name) // next;
        $g->{node} = $target;
        $g->{status} = 'running';
        delete $g->{'lost-on'};
        $sd->{node} = $target;
        $sd->{state} = 'started';
        $self->log('info', 'hardware', "HA: $sid recovered from $name on $target");
        $self->record_loads();
    }
}

# --- HA CRM --------------------------------------------------------------------------------

sub schedule_crm {
    my ($self) = @_;

    return if $self->{crm_scheduled};
    $self->{crm_scheduled} = 1;
    my $t = (int($self->{time} / $crm_round) + 1) * $crm_round;
    $self->at($t, 'crm round', sub {
        $self->{crm_scheduled} = 0;
        $self->crm_round();
    });
}

=head3 ha_queue($cmd)

Queues a CRM command, as PVE::HA::Config::queue_crm_commands does (and as the CRS
auto-rebalance queues its moves).

=cut

sub ha_queue {
    my ($self, $cmd) = @_;

    $self->{ha}->{commands} .= "$cmd\n";
    $self->schedule_crm();
}

# One round of the CRM: read the queued commands (PVE::HA::Manager::update_crm_commands) and
# start the HA migrations; they end after their duration.
sub crm_round {
    my ($self) = @_;

    my $cmds = $self->{ha}->{commands};
    $self->{ha}->{commands} = '';
    my $ss = $self->{ha}->{service_status};
    for my $cmd (split(/\n/, $cmds)) {
        my ($what, $sid, $target) = split(/\s+/, $cmd);
        next if !$what || ($what ne 'migrate' && $what ne 'relocate');
        my $sd = $ss->{$sid};
        if (!$sd || $sd->{state} ne 'started' || $sd->{node} eq $target
            || !$self->{nodes}->{$target} || !$self->{nodes}->{$target}->{online}) {
            $self->log('info', 'crm', "ignore crm command '$cmd'");
            next;
        }
        my ($vmid) = $sid =~ m/:(\d+)$/;
        my $g = $self->{guests}->{$vmid};
        my $b = $self->{behaviour}->{$vmid} // {};
        my $duration = $b->{duration} // 5 + int($g->{mem} / $self->{bandwidth});
        $sd->{state} = 'migrate';
        $sd->{target} = $target;
        $g->{lock} = 'migrate';
        $g->{'moving-to'} = $target;
        my $started = $self->{time};
        my $job = $self->{ha}->{jobs}->{$sid} = { from => $sd->{node}, target => $target };
        $self->log('info', 'crm', "$sid: migrate from $sd->{node} to $target");
        $self->record_loads();
        $self->at($self->{time} + $duration, "ha migration $sid", sub {
            delete $self->{ha}->{jobs}->{$sid};
            return if $job->{aborted};
            delete $g->{'moving-to'};
            delete $g->{lock};
            if ($b->{fail}) {
                $sd->{state} = 'started';
                delete $sd->{target};
                $self->log('info', 'crm', "$sid: migration to $target failed");
            } else {
                push @{ $self->{moves} }, { vmid => 0 + $vmid, from => $g->{node},
                    to => $target, started => $started, time => $self->{time}, by => 'HA' };
                $g->{node} = $target;
                $sd->{node} = $target;
                $sd->{state} = 'started';
                delete $sd->{target};
                $self->log('info', 'crm', "$sid: migrated to $target");
            }
            $self->record_loads();
        });
    }
}

# --- pmxcfs ----------------------------------------------------------------------------------

sub read_file {
    my ($self, $relpath) = @_;

    return $self->{ha}->{commands} if $relpath eq 'ha/crm_commands';
    return $self->{files}->{$relpath};
}

# Without quorum pmxcfs is read-only: writes fail with EACCES.
sub write_file {
    my ($self, $relpath, $data) = @_;

    die "unable to open file '/etc/pve/$relpath.tmp.$$' - Permission denied\n"
        if !$self->{quorate};
    $self->{files}->{$relpath} = $data;
}

sub delete_file {
    my ($self, $relpath) = @_;

    die "unable to delete '/etc/pve/$relpath' - Permission denied\n" if !$self->{quorate};
    delete $self->{files}->{$relpath};
}

1;
