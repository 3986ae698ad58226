package PVEBalancerTest::SimCluster;

# A simulated Proxmox VE cluster for the tests. The doubles of PVE::Cluster, PVE::HA::Config,
# PVE::QemuConfig, PVE::API2::Qemu, PVE::APIClient::LWP, ... (tests/perl/lib/pve-doubles) read
# and change it. It has a fake clock: nothing happens until advance() is called (the test
# environment's sleep), so tests are instant and deterministic.
#
# The state is described at the level of what pvestatd and pmxcfs know (a fixture file, see
# tests/perl/fixtures/api/cluster.json):
#
#   nodename   the local node
#   zfs_arc_max  the local node's /sys/module/zfs/parameters/zfs_arc_max (absent: no zfs module)
#   kv         { key => { node => text } }   the pmxcfs node key-value store (get/broadcast_node_kv)
#   time       the clock (seconds)
#   nodes      { name => { online, id, maxcpu, cpu, maxmem, mem, rootfs => [total, used],
#                          level, uptime, rrd => '9.0' | 'old' | 'none', static => {...} } }
#   guests     { vmid => { type, node, name, status, template, maxcpu, cpu, maxmem, mem,
#                          memhost, maxdisk, disk, uptime, rrd => '9.0' | 'old' | 'none',
#                          config => { ...guest config, incl. lock and tags... } } }
#   storage    { ids => { id => { type, shared, content => {...}, nodes => {...}, disable } },
#                usage => { 'node/id' => [total, used] } }
#   datacenter, usercfg                      parsed datacenter.cfg / user.cfg
#   ha         { resources => {ids}, rules => {ids}, groups => {ids}, manager_status => {...},
#                crm_commands => '' }
#   rrddata    { 'pve-vm-9.0/100' => [ {time, cpu, mem, ...} ] }
#   replication [ { id => '100-0', target => 'pve2', disable => 1? } ]   replication.cfg
#   mappings   { pci => { id => { map => ['node=pve1,...'], 'live-migration-capable' => 1 } },
#                usb => { id => { map => [...] } } }                     mapping/{pci,usb}.cfg
#   ha.manager_status.disarm  { mode => freeze|ignore, state => disarming|disarmed }
#
# A worker task forks (PVE::RESTEnvironment double): the child's simulation is handed back to
# the parent when it is reaped (save_shared / load_shared), as the state of a real cluster
# would be there for everyone to read; crash() ends a worker abruptly (SIGKILL) after that.
#
# Behaviour of migrations, set by tests:
#   behaviour  { vmid => { duration => s, fail => 'message', hang => 1, ha_refuse => 1 } }
#   events     [ [time, sub { my ($sim) = @_; ... }] ]  run by advance() when due
#
# Its RRD records and histories are PVEBalancerTest::SimCluster::RRD; what qemu-server checks
# before and during a migration, PVEBalancerTest::SimCluster::QemuMigrate.

use strict;
use warnings;

use JSON;
use Storable qw(dclone);
use Storable ();

use PVEBalancerTest::SimCluster::QemuMigrate;
use PVEBalancerTest::SimCluster::RRD;

my $current;

our $ha_round = 10; # seconds between two CRM rounds

sub current {
    return $current;
}

sub new {
    my ($class, $data) = @_;

    my $self = bless dclone($data), $class;
    $self->{nodename} //= 'pve1';
    $self->{time} //= 1_700_000_000;
    $self->{nodes} //= {};
    $self->{guests} //= {};
    $self->{storage} //= { ids => {}, usage => {} };
    $self->{ha} //= {};
    $self->{ha}->{$_} //= { ids => {} } for qw(resources rules groups);
    $self->{ha}->{manager_status} //= {};
    $self->{ha}->{crm_commands} //= '';
    $self->{tasks} = {};
    $self->{behaviour} //= {};
    $self->{events} //= [];
    $self->{ha_jobs} = {};
    $self->{crm_log} = [];
    $self->{lock_log} = [];
    $self->{migrations} = [];
    $self->{next_crm_round} = $self->{time} + $ha_round;

    $current = $self;
    return $self;
}

sub load {
    my ($class, $file) = @_;

    open(my $fh, '<', $file) or die "unable to read '$file' - $!\n";
    local $/;
    my $data = JSON->new->relaxed->decode(<$fh>);
    close($fh);
    return $class->new($data);
}

=head3 save_shared($file) / load_shared($file)

Hand the simulation from a forked worker to its parent (events, being code, stay with each
process; the parent drops those that came due in the worker).

=cut

sub save_shared {
    my ($self, $file) = @_;

    $file //= $self->{share_file} // return;
    my %copy = %$self;
    delete $copy{events};
    delete $copy{share_file};
    Storable::nstore(\%copy, $file);
}

sub load_shared {
    my ($self, $file) = @_;

    my $data = Storable::retrieve($file);
    my $events = $self->{events} // [];
    %$self = %$data;
    $self->{events} = [grep { $_->[0] > $self->{time} } @$events];
    $current = $self;
}

=head3 crash()

Inside a worker: the process dies at once (SIGKILL, as pvedaemon's second signal or a lost
node), after handing the simulation back.

=cut

sub crash {
    my ($self) = @_;

    $self->save_shared();
    kill('KILL', $$);
    sleep(10); # not reached
}

sub members {
    my ($self) = @_;

    my $res = {};
    for my $name (sort keys %{ $self->{nodes} }) {
        my $n = $self->{nodes}->{$name};
        $res->{$name} = {
            id => $n->{id} // 1,
            online => $n->{online} ? 1 : 0,
            ip => $n->{ip} // "192.0.2." . ($n->{id} // 1),
        };
    }
    return $res;
}

sub vmlist {
    my ($self) = @_;

    my $ids = {};
    for my $vmid (keys %{ $self->{guests} }) {
        my $g = $self->{guests}->{$vmid};
        $ids->{$vmid} = { node => $g->{node}, type => $g->{type}, version => 1 };
    }
    return { version => 1, ids => $ids };
}


sub cfs_file {
    my ($self, $filename) = @_;

    if ($filename eq 'datacenter.cfg') {
        return dclone($self->{datacenter} // {});
    } elsif ($filename eq 'user.cfg') {
        return dclone($self->{usercfg} // {});
    } elsif ($filename eq 'storage.cfg') {
        return dclone({ ids => $self->{storage}->{ids} // {} });
    }
    die "unknown file '$filename'";
}

sub ha_file {
    my ($self, $name) = @_;

    return dclone($self->{ha}->{$name} // {});
}

sub load_config {
    my ($self, $type, $vmid, $node) = @_;

    $node //= $self->{nodename};
    my $dir = $type eq 'qemu' ? 'qemu-server' : 'lxc';
    my $g = $self->{guests}->{$vmid};
    if (!$g || $g->{type} ne $type || $g->{node} ne $node) {
        die "Configuration file 'nodes/$node/$dir/$vmid.conf' does not exist\n";
    }
    return { %{ dclone($g->{config} // {}) }, digest => 'd' x 40 };
}

=head3 register_task($upid, %info) / finish_task($upid, $status) / stop_task($upid)

The task table (pid and pstart taken from the UPID).

=cut

sub register_task {
    my ($self, $upid, %info) = @_;

    my (undef, $node, $pid, $pstart) = split(/:/, $upid);
    $self->{tasks}->{$upid} = {
        upid => $upid,
        node => $node,
        pid => hex($pid),
        pstart => hex($pstart),
        running => 1,
        started => $self->{time},
        %info,
    };
}

sub finish_task {
    my ($self, $upid, $status) = @_;

    my $task = $self->{tasks}->{$upid} or return;
    $task->{running} = 0;
    $task->{status} = $status // 'OK';
    $task->{finished} = $self->{time};
}

sub stop_task {
    my ($self, $upid) = @_;

    my $task = $self->{tasks}->{$upid} or return;
    return if !$task->{running};
    if (defined(my $vmid = $task->{vmid})) {
        my $g = $self->{guests}->{$vmid};
        delete $g->{config}->{lock} if $g && ($g->{config}->{lock} // '') eq 'migrate';
    }
    $self->finish_task($upid, 'migration aborted');
}

my sub new_upid {
    my ($self, $node, $dtype, $id, $user) = @_;

    # kept in the state: a forked worker hands it back with the tasks it started
    my $n = ++$self->{task_counter};
    return sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:",
        $node, 20000 + $n, 5000 + $n, $self->{time}, $dtype, $id, $user);
}

=head3 start_migration(%args)

What qemu-server's and pve-container's migrate_vm do on the node C<node> that owns the guest,
up to the forked task: checks, then a task that moves the guest when its time is up.

=cut

sub start_migration {
    my ($self, %args) = @_;

    my ($type, $vmid, $node, $target, $user) = @args{qw(type vmid node target user)};
    my $g = $self->{guests}->{$vmid};
    my $dir = $type eq 'qemu' ? 'qemu-server' : 'lxc';
    die "Configuration file 'nodes/$node/$dir/$vmid.conf' does not exist\n"
        if !$g || $g->{type} ne $type || $g->{node} ne $node;
    die "target is local node.\n" if $target eq $node;
    die "no such cluster node '$target'\n" if !$self->{nodes}->{$target};

    my $what = $type eq 'qemu' ? 'VM' : 'CT';
    if (my $lock = $g->{config}->{lock}) {
        die "$what is locked ($lock)\n";
    }
    my $params = $args{params} // {};
    my $running = ($g->{status} // '') eq 'running';
    my $jobs = [grep { $_->{id} =~ m/^\Q$vmid\E-\d+$/ } @{ $self->{replication} // [] }];
    my $to_target = grep { $_->{target} eq $target } @$jobs;
    if ($running) {
        if ($type eq 'qemu') {
            die "can't migrate running VM without --online\n" if !$params->{online};
            # qemu-server API2::Qemu migrate_vm: disabled jobs count too
            die "Cannot live-migrate replicated VM to node '$target' - not a replication "
                . "target. Use 'force' to override.\n"
                if @$jobs && !$to_target && !$params->{force};
        } else {
            die "can't migrate running container without --online or --restart\n"
                if !$params->{online} && !$params->{restart};
        }
    }
    PVEBalancerTest::SimCluster::QemuMigrate::check_storage_availability($self, $g, $target)
        if $type eq 'qemu' && !$params->{targetstorage};

    my $b = $self->{behaviour}->{$vmid} // {};
    # refusals of the migration task itself (QemuMigrate / LXC::Migrate prepare)
    my $refusal = $type eq 'qemu'
        ? PVEBalancerTest::SimCluster::QemuMigrate::qemu_task_refusal($self, $g, $target, $running)
        : $running && $params->{online} ? "lxc live migration is currently not implemented"
        : $running && $to_target ? "can't live migrate VM with replicated volumes"
        : undef;
    if ($refusal) {
        $b = { %$b, duration => 1, fail => $refusal };
    }
    my $dtype = $type eq 'qemu' ? 'qmigrate' : 'vzmigrate';
    my $upid = new_upid($self, $node, $dtype, $vmid, $user // 'root@pam');

    $g->{config}->{lock} = 'migrate';
    $self->register_task(
        $upid,
        type => $dtype,
        vmid => $vmid,
        from => $node,
        target => $target,
        params => { %{ $args{params} // {} } },
        done_at => $b->{hang} ? undef : $self->{time} + ($b->{duration} // 10),
        fail => $b->{fail},
    );
    push @{ $self->{migrations} }, { vmid => $vmid, from => $node, to => $target,
        params => { %{ $args{params} // {} } }, started => $self->{time}, upid => $upid };

    return $upid;
}


=head3 ha_request_task($sid, $target, $user)

The 'hamigrate' worker of qemu-server / pve-container: runs 'ha-manager migrate', whose API
call checks that the resource is HA-managed and not in error state, then queues the CRM
command. Returns the UPID of the (finished) task.

=cut

sub ha_request_task {
    my ($self, $sid, $target, $user) = @_;

    my ($vmid) = $sid =~ m/:(\d+)$/;
    my $upid = new_upid($self, $self->{nodename}, 'hamigrate', $vmid, $user // 'root@pam');
    $self->register_task($upid, type => 'hamigrate', vmid => $vmid);
    eval {
        PVE::HA::Config::service_is_ha_managed($sid);
        my $status = PVE::HA::Config::get_service_status($sid);
        die "service '$sid' in error state, must be disabled and fixed first\n"
            if ($status->{state} // '') eq 'error';
        PVE::HA::Config::queue_crm_commands("migrate $sid $target");
    };
    my $err = $@;
    chomp $err;
    $self->finish_task($upid, $err ? "command 'ha-manager migrate $sid $target' failed: $err" : 'OK');
    return $upid;
}

=head3 set_node_online($node, $online)

Power a node off or on: it leaves or joins the membership, migrations to or from it fail.

=cut

sub set_node_online {
    my ($self, $node, $online) = @_;

    $self->{nodes}->{$node}->{online} = $online ? 1 : 0;
    $self->{ha}->{manager_status}->{node_status}->{$node} = $online ? 'online' : 'unknown'
        if $self->{ha}->{manager_status}->{node_status};
}

# The node loads follow a moved guest (what pvestatd reports a few seconds later).
sub move_guest {
    my ($self, $vmid, $target) = @_;

    my $g = $self->{guests}->{$vmid} or return;
    my ($src, $dst) = map { $self->{nodes}->{$_} } ($g->{node}, $target);
    my $running = ($g->{status} // '') eq 'running';
    if ($running && $src && $dst) {
        my $cores = ($g->{cpu} // 0) * ($g->{maxcpu} // 0);
        my $mem = $g->{mem} // 0;
        $src->{cpu} = max0($src->{cpu} - $cores / $src->{maxcpu}) if $src->{maxcpu};
        $dst->{cpu} = min1($dst->{cpu} + $cores / $dst->{maxcpu}) if $dst->{maxcpu};
        $src->{mem} = int(max0($src->{mem} - $mem));
        $dst->{mem} = int($dst->{mem} + $mem);
        $dst->{mem} = $dst->{maxmem} if $dst->{mem} > $dst->{maxmem};
    }
    $g->{node} = $target;
}

sub max0 { return $_[0] < 0 ? 0 : $_[0] }
sub min1 { return $_[0] > 1 ? 1 : $_[0] }

my sub tick_tasks {
    my ($self) = @_;

    for my $upid (sort keys %{ $self->{tasks} }) {
        my $t = $self->{tasks}->{$upid};
        next if !$t->{running} || !defined($t->{vmid}) || !$t->{target};
        my $g = $self->{guests}->{ $t->{vmid} };

        for my $node ($t->{from}, $t->{target}) {
            next if $self->{nodes}->{$node}->{online};
            delete $g->{config}->{lock};
            $self->finish_task($upid, "migration aborted: node '$node' is unreachable");
            last;
        }
        next if !$t->{running};
        next if !defined($t->{done_at}) || $t->{done_at} > $self->{time};

        delete $g->{config}->{lock};
        if ($t->{fail}) {
            $self->finish_task($upid, $t->{fail});
            next;
        }
        $self->move_guest($t->{vmid}, $t->{target});
        $self->finish_task($upid, 'OK');
    }
}

my sub crm_round {
    my ($self) = @_;

    my $ms = $self->{ha}->{manager_status};
    my $ss = $ms->{service_status} //= {};

    # finish HA migrations that are due
    for my $sid (sort keys %{ $self->{ha_jobs} }) {
        my $job = $self->{ha_jobs}->{$sid};
        next if $job->{done_at} > $self->{time};
        delete $self->{ha_jobs}->{$sid};
        my $sd = $ss->{$sid};
        if ($job->{fail}) {
            $sd->{state} = 'started';
            delete $sd->{target};
            next;
        }
        my ($vmid) = $sid =~ m/:(\d+)$/;
        $self->move_guest($vmid, $job->{target}) if $self->{guests}->{$vmid};
        $sd->{node} = $job->{target};
        $sd->{state} = 'started';
        delete $sd->{target};
    }

    # then read the queued commands, as update_crm_commands does
    my $cmds = $self->{ha}->{crm_commands} // '';
    $self->{ha}->{crm_commands} = '';
    # a disarmed HA stack reads commands but its state machine does not run
    # (PVE::HA::Manager::manage returns after handle_disarm)
    if ($ms->{disarm}) {
        push @{ $self->{crm_ignored} }, grep { length } split(/\n/, $cmds);
        return;
    }
    for my $cmd (split(/\n/, $cmds)) {
        my ($what, $sid, $target) = split(/\s+/, $cmd);
        next if !$what || $what ne 'migrate';
        my $sd = $ss->{$sid} or next;
        my ($vmid) = $sid =~ m/:(\d+)$/;
        my $b = $self->{behaviour}->{$vmid} // {};
        next if $b->{ha_refuse}; # e.g. a negative resource affinity partner on the target
        next if $sd->{state} ne 'started' || $sd->{node} eq $target;
        $sd->{state} = 'migrate';
        $sd->{target} = $target;
        $self->{ha_jobs}->{$sid} = {
            target => $target,
            done_at => $b->{hang} ? 9**9**9 : $self->{time} + ($b->{duration} // 20),
            fail => $b->{fail},
        };
    }
}

=head3 advance($seconds)

Moves the clock on, one second at a time: due events run, migrations finish, the CRM does a
round every $ha_round seconds.

=cut

sub advance {
    my ($self, $seconds) = @_;

    for (1 .. $seconds) {
        $self->{time}++;

        my @due = grep { $_->[0] <= $self->{time} } @{ $self->{events} };
        $self->{events} = [grep { $_->[0] > $self->{time} } @{ $self->{events} }];
        $_->[1]->($self) for @due;

        tick_tasks($self);
        if ($self->{time} >= $self->{next_crm_round}) {
            crm_round($self);
            $self->{next_crm_round} = $self->{time} + $ha_round;
        }
    }
}

=head3 at($time_offset, $code)

Runs C<$code> when the clock has advanced by C<$time_offset> seconds from now.

=cut

sub at {
    my ($self, $offset, $code) = @_;

    push @{ $self->{events} }, [$self->{time} + $offset, $code];
}

1;
