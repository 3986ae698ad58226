package PVE::Balancer::Sim::Env;

# The PVE::Balancer::Env backend of the simulator (modelled on pve-ha-manager's
# PVE::HA::Sim::Env): every impure call of the Manager, the planner and the executor answered
# by the simulated cluster (PVE::Balancer::Sim::Hardware) and its fake clock. It mirrors what
# PVE::Balancer::Env::PVE2 does on a node where the balancer relies on it:
#
#   - cluster_inputs: the raw state in the layout PVE::Balancer::State::read_inputs returns
#     (pvestatd's pve-node-9.0 / pve-vm-9.0 RRD records with string values, members, vmlist,
#     guest config properties, HA resources and manager status, datacenter.cfg crs), RRD
#     averages over 'rrd-window' from the exact load history;
#   - pmxcfs: files in memory, read-only without quorum (writes fail with EACCES, locks with
#     "no quorum"), as pmxcfs behaves;
#   - migrations: tasks with a UPID that take time and can fail (qemu-server's checks that die
#     at once, refusals in the task); HA guests through queued CRM commands;
#   - local time is UTC; calendar events by PVE::Balancer::Sim::CalendarEvent;
#   - notifications are logged and kept (PVE::Notify is not called).

use strict;
use warnings;

use PVE::Balancer::Sim::CalendarEvent;

sub new {
    my ($class, %args) = @_;

    my $self = bless {
        hw => $args{hardware} // die("no hardware\n"),
        nodename => $args{nodename} // die("no node name\n"),
        logger => $args{log} // sub { },
    }, $class;
    return $self;
}

sub hardware {
    my ($self) = @_;
    return $self->{hw};
}

sub nodename {
    my ($self) = @_;
    return $self->{nodename};
}

sub get_time {
    my ($self) = @_;
    return $self->{hw}->now();
}

sub sleep {
    my ($self, $seconds) = @_;
    $self->{hw}->advance($seconds) if $seconds > 0;
}

sub log {
    my ($self, $level, $msg) = @_;
    $self->{logger}->($level, $msg);
}

my sub str {
    my ($v) = @_;
    return defined($v) ? "$v" : undef;
}

sub cluster_inputs {
    my ($self, %opts) = @_;

    my $hw = $self->{hw};
    my $now = $hw->now();
    my $window = $opts{rrd_window} // 0;

    my $nodes = $hw->{nodes};
    my $members = {};
    my $rrd = {};
    my $avg = {};
    for my $name (sort keys %$nodes) {
        my $n = $nodes->{$name};
        $members->{$name} = { id => $n->{id}, online => $n->{online} ? 1 : 0,
            ip => "192.0.2.$n->{id}" };
        my $cur = $hw->{hist}->{"node/$name"}->[-1];
        # pvestatd's pve-node-9.0 record: uptime, level, ctime, loadavg, maxcpu, cpu, iowait,
        # memtotal, memused, swaptotal, swapused, roottotal, rootused, netin, netout, ...
        $rrd->{"pve-node-9.0/$name"} = [map { str($_) } (86400, '', $now, 1, $n->{maxcpu},
            $cur ? $cur->[1] : 0, 0, $n->{maxmem}, $cur ? int($cur->[2]) : 0, 0, 0,
            100 * 2**30, 10 * 2**30, 0, 0, $n->{maxmem} - ($cur ? int($cur->[2]) : 0), 0, 0,
            0, 0, 0, 0)];
        if ($window > 0 && $n->{online}) {
            my $a = $hw->rrd_average("node/$name", $window);
            $avg->{"node/$name"} = $a if $a;
        }
    }

    my $ids = {};
    my $props = {};
    my $configs = {};
    my $pools = {};
    for my $vmid (sort { $a <=> $b } keys %{ $hw->{guests} }) {
        my $g = $hw->{guests}->{$vmid};
        $ids->{$vmid} = { node => $g->{node}, type => $g->{type}, version => 1 };
        my $p = {};
        $p->{lock} = $g->{lock} if $g->{lock};
        $p->{tags} = $g->{tags} if defined($g->{tags}) && length($g->{tags});
        $props->{$vmid} = $p if %$p;
        $pools->{$vmid} = $g->{pool} if defined($g->{pool});
        $configs->{$vmid} = { filtered => { scsi0 => "ceph:vm-$vmid-disk-0,size=32G" },
            name => $g->{name} };
        my $running = $g->{status} eq 'running';
        # pve-vm-9.0: uptime, name, status, template, ctime, maxcpu, cpu, maxmem, mem,
        # maxdisk, disk, netin, netout, diskread, diskwrite, memhost, ...
        $rrd->{"pve-vm-9.0/$vmid"} = [map { str($_) } ($running ? 3600 : 0, $g->{name},
            $g->{status}, $g->{template}, $now, $g->{maxcpu}, $running ? $g->{cpu} : undef,
            $g->{maxmem}, $running ? int($g->{mem}) : undef, 32 * 2**30, 0,
            $running ? (0, 0, 0, 0, int($g->{mem})) : (undef) x 5, (undef) x 6)];
        if ($window > 0 && $running) {
            my $a = $hw->rrd_average("vm/$vmid", $window);
            $avg->{"vm/$vmid"} = $a if $a;
        }
    }

    my $ha = $hw->{ha};
    my $service_status = {};
    for my $sid (keys %{ $ha->{service_status} }) {
        $service_status->{$sid} = { %{ $ha->{service_status}->{$sid} } };
    }

    return {
        time => $now,
        nodename => $self->{nodename},
        nodelist => [sort keys %$nodes],
        members => $members,
        vmlist => { version => 1, ids => $ids },
        rrd => $rrd,
        'static-info' => {},
        props => $props,
        'rrd-window' => $window,
        configs => $configs,
        storage => [{ storage => 'ceph', type => 'rbd', shared => 1, content => 'images',
            nodes => [sort keys %$nodes] }],
        datacenter => $hw->{datacenter},
        pools => $pools,
        replication => {},
        mappings => { pci => {}, usb => {} },
        ha => {
            resources => { ids => { map { $_ => { %{ $ha->{ids}->{$_} } } } keys %{ $ha->{ids} } } },
            rules => { ids => {} },
            groups => { ids => {} },
            'manager-status' => { service_status => $service_status,
                node_status => { %{ $ha->{node_status} } } },
        },
        ($window > 0 ? ('rrd-average' => $avg) : ()),
        errors => [],
    };
}

sub read_cfs_file {
    my ($self, $relpath) = @_;
    return $self->{hw}->read_file($relpath);
}

sub write_cfs_file {
    my ($self, $relpath, $data) = @_;
    return $self->{hw}->write_file($relpath, $data);
}

sub delete_cfs_file {
    my ($self, $relpath) = @_;
    return $self->{hw}->delete_file($relpath);
}

# PVE::Cluster::cfs_lock_domain: needs quorum; the simulator runs one process, so holding the
# lock is running the code.
sub cfs_lock {
    my ($self, $name, $timeout, $code) = @_;

    die "cfs-lock 'pve-balancer-$name' error: no quorum!\n" if !$self->{hw}->{quorate};
    return $code->();
}

sub migrate_guest {
    my ($self, $guest, $target, $params) = @_;

    my $upid = $self->{hw}->start_migration($guest->{vmid}, $target, $params);
    return { upid => $upid, node => $guest->{node} };
}

sub task_status {
    my ($self, $task) = @_;
    return $self->{hw}->task_status($task->{upid});
}

sub stop_task {
    my ($self, $task) = @_;
    return $self->{hw}->stop_task($task->{upid});
}

# pve-ha-manager's API checks (service_is_ha_managed, not in error state), then the command
sub ha_migrate {
    my ($self, $sid, $target) = @_;

    my $hw = $self->{hw};
    die "service '$sid' is not managed by ha\n" if !$hw->{ha}->{ids}->{$sid};
    my $sd = $hw->{ha}->{service_status}->{$sid} // {};
    die "service '$sid' in error state, must be disabled and fixed first\n"
        if ($sd->{state} // '') eq 'error';
    $hw->ha_queue("migrate $sid $target");
}

sub ha_manager_status {
    my ($self) = @_;

    my $ha = $self->{hw}->{ha};
    return {
        service_status => { map { $_ => { %{ $ha->{service_status}->{$_} } } }
            keys %{ $ha->{service_status} } },
        node_status => { %{ $ha->{node_status} } },
    };
}

sub ha_commands_pending {
    my ($self) = @_;
    return length($self->{hw}->{ha}->{commands}) ? 1 : 0;
}

sub guest_nodes {
    my ($self) = @_;

    my $guests = $self->{hw}->{guests};
    return { map { $_ => $guests->{$_}->{node} } keys %$guests };
}

sub migration_running {
    my ($self, $m) = @_;

    my $hw = $self->{hw};
    if ($m->{ha}) {
        my $sid = ($m->{type} eq 'lxc' ? 'ct' : 'vm') . ":$m->{vmid}";
        my $sd = $hw->{ha}->{service_status}->{$sid} // {};
        return 1 if ($sd->{state} // '') =~ m/^(?:migrate|relocate)$/;
        return $hw->{ha}->{commands} =~ m/\Q$sid\E/ ? 1 : 0;
    }
    if ($m->{upid} && $hw->{tasks}->{ $m->{upid} }) {
        return $hw->{tasks}->{ $m->{upid} }->{running} ? 1 : 0;
    }
    my $g = $hw->{guests}->{ $m->{vmid} } // return 0;
    return ($g->{lock} // '') eq 'migrate' ? 1 : 0;
}

sub quorate {
    my ($self) = @_;
    return $self->{hw}->{quorate} ? 1 : 0;
}

# the cycles run in this process: a run's lease has no task; its heartbeat decides
sub task_alive {
    my ($self, $upid) = @_;
    return undef;
}

sub local_time {
    my ($self, $epoch) = @_;

    my @t = gmtime($epoch);
    return {
        year => $t[5] + 1900, mon => $t[4] + 1, mday => $t[3], wday => $t[6], hour => $t[2],
        min => $t[1], date => sprintf("%04d-%02d-%02d", $t[5] + 1900, $t[4] + 1, $t[3]),
    };
}

sub next_calendar_event {
    my ($self, $schedule, $after) = @_;
    return PVE::Balancer::Sim::CalendarEvent::next_after($schedule, $after);
}

sub notify {
    my ($self, $severity, $template, $data, $fields) = @_;

    push @{ $self->{hw}->{notifications} }, { severity => $severity, template => $template,
        data => $data, fields => $fields };
    $self->{logger}->('notify', "$severity $template: " . ($data->{summary} // ''));
}

sub daemon_local_status {
    my ($self) = @_;
    return undef;
}

1;
