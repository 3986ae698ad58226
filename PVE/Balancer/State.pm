package PVE::Balancer::State;

# Cluster state collection: reads the live state in-process, the way GET /cluster/resources
# and the HA manager do, and turns it into exactly the snapshot structure of docs/snapshot.md
# (the extended object), so the engine, the offline CLI and `pvesh get
# /cluster/balance/snapshot` all see the same input.
#
# Two halves:
#   read_inputs()     impure: PVE::Cluster, guest configs, storage.cfg, datacenter.cfg, HA
#                     config and manager status, RRD history. Called through the Env backend.
#   build_snapshot()  pure: inputs -> snapshot. The field mapping mirrors
#                     PVE::API2Tools::extract_{node,vm,storage}_stats.

use strict;
use warnings;

use JSON;

use PVE::Cluster;
use PVE::INotify;

# rrd_dump indices (pvestatd broadcast layout; the old pve2-node / pve2.3-vm / pve2-storage
# records share these first fields).
my $NODE_UPTIME = 0;
my $NODE_LEVEL = 1;
my $NODE_MAXCPU = 4;
my $NODE_CPU = 5;
my $NODE_MEMTOTAL = 7;
my $NODE_MEMUSED = 8;
my $NODE_ROOTTOTAL = 11;
my $NODE_ROOTUSED = 12;
my $NODE_ARCSIZE = 16; # pve-node-9.0 only (pvestatd update_node_status, pmxcfs status.c)
# pve-node-9.0 only: PSI avg10 in percent, in pvestatd's order (cpu some, io some, io full,
# memory some, memory full); the RRD columns are called pressure<resource><some|full>
my @NODE_PRESSURE = (
    [17, 'cpu-some', 'pressurecpusome'],
    [18, 'io-some', 'pressureiosome'],
    [19, 'io-full', 'pressureiofull'],
    [20, 'memory-some', 'pressurememorysome'],
    [21, 'memory-full', 'pressurememoryfull'],
);

my $VM_UPTIME = 0;
my $VM_NAME = 1;
my $VM_STATUS = 2;
my $VM_TEMPLATE = 3;
my $VM_MAXCPU = 5;
my $VM_CPU = 6;
my $VM_MAXMEM = 7;
my $VM_MEM = 8;
my $VM_MAXDISK = 9;
my $VM_DISK = 10;
my $VM_NETIN = 11;
my $VM_NETOUT = 12;
my $VM_DISKREAD = 13;
my $VM_DISKWRITE = 14;
my $VM_MEMHOST = 15; # pve-vm-9.0 only

my $STORAGE_MAXDISK = 1;
my $STORAGE_DISK = 2;

# Guest config keys the engine reads (docs/snapshot.md "Guest details"); everything else in a
# config (passwords, cloud-init, descriptions) stays out of the snapshot.
my $config_key_re = qr/^(?:
    (?:ide|sata|scsi|virtio|efidisk|tpmstate|unused|mp)\d+ | rootfs      # disks
    | (?:hostpci|usb|serial|parallel|dev)\d+                             # devices
    | cpu                                                                # CPU type and flags
)$/x;

=head3 rrd_key($rrd, $type, $id)

The rrd_dump key of a node, guest (C<vm>) or storage (C<node/storage>): the PVE 9 key if
present, else the old one, as PVE::API2Tools::get_rrd_key does.

=cut

sub rrd_key {
    my ($rrd, $type, $id) = @_;

    my $key = "pve-${type}-9.0/$id";
    return $key if defined($rrd->{$key});

    my $old = $type eq 'vm' ? "pve2.3-vm/$id" : "pve2-${type}/$id";
    return $old if defined($rrd->{$old});

    return undef;
}

my sub rrd_file_name {
    my ($rrd, $type, $id) = @_;

    my $key = rrd_key($rrd, $type, $id) // return undef;
    # the RRD file of the old VM records is called pve2-vm, not pve2.3-vm
    return $key =~ s|^pve2\.3-vm/|pve2-vm/|r;
}

my sub filter_config {
    my ($conf) = @_;

    my $res = {};
    for my $key (sort keys %$conf) {
        next if $key !~ $config_key_re;
        next if ref($conf->{$key});
        $res->{$key} = "$conf->{$key}";
    }
    return $res;
}

my sub load_guest_config {
    my ($vmid, $d) = @_;

    if ($d->{type} eq 'qemu') {
        require PVE::QemuConfig;
        return PVE::QemuConfig->load_config($vmid, $d->{node});
    } elsif ($d->{type} eq 'lxc') {
        require PVE::LXC::Config;
        return PVE::LXC::Config->load_config($vmid, $d->{node});
    }
    return undef;
}

my sub rrd_average {
    my ($rrdname, $window, $now, @fields) = @_;

    require PVE::RRD;
    my $data = PVE::RRD::create_rrd_data($rrdname, 'hour', 'AVERAGE');
    my $since = $now - $window * 60;

    my $res = {};
    for my $field (@fields) {
        my ($sum, $n) = (0, 0);
        for my $point (@$data) {
            next if !defined($point->{time}) || $point->{time} < $since;
            my $value = $point->{$field};
            next if !defined($value);
            $sum += $value;
            $n++;
        }
        $res->{$field} = $sum / $n if $n;
    }
    return $res;
}

my sub content_string {
    my ($content) = @_;

    return join(',', sort grep { $content->{$_} } keys %{ $content // {} });
}

=head3 read_inputs(%opts)

Reads the live cluster state in-process. Options: C<rrd_window> (minutes of RRD history to
average, 0 to skip), C<now> (the current time, for the RRD window). Returns a plain data
structure for build_snapshot(); a part that cannot be read is left out and its error listed
in C<errors>.

=cut

sub read_inputs {
    my (%opts) = @_;

    my $window = $opts{rrd_window} // 0;
    my $now = $opts{now} // time();
    my $errors = [];

    PVE::Cluster::cfs_update();

    my $inputs = {
        time => $now,
        nodename => PVE::INotify::nodename(),
        nodelist => [sort @{ PVE::Cluster::get_nodelist() // [] }],
        members => PVE::Cluster::get_members(),
        vmlist => PVE::Cluster::get_vmlist() // {},
        rrd => PVE::Cluster::rrd_dump() // {},
        'static-info' => PVE::Cluster::get_node_kv('static-info') // {},
        props => PVE::Cluster::get_guest_config_properties([qw(lock tags)]) // {},
        'rrd-window' => $window,
    };

    my $ids = $inputs->{vmlist}->{ids} // {};

    my $configs = {};
    for my $vmid (sort { $a <=> $b } keys %$ids) {
        my $conf = eval { load_guest_config($vmid, $ids->{$vmid}) };
        if (my $err = $@) {
            chomp $err;
            push @$errors, "guest $vmid: $err";
            next;
        }
        $configs->{$vmid} = {
            filtered => filter_config($conf // {}),
            map { $_ => $conf->{$_} } grep { defined($conf->{$_}) }
                qw(name hostname cores sockets vcpus cpulimit memory template),
        };
    }
    $inputs->{configs} = $configs;

    eval {
        require PVE::Storage;
        my $cfg = PVE::Storage::config();
        my $storage = [];
        for my $storeid (sort(PVE::Storage::storage_ids($cfg))) {
            my $scfg = PVE::Storage::storage_config($cfg, $storeid);
            my $nodes = [
                grep { PVE::Storage::storage_check_enabled($cfg, $storeid, $_, 1) }
                    $inputs->{nodelist}->@*
            ];
            push @$storage,
                {
                    storage => $storeid,
                    type => $scfg->{type},
                    shared => $scfg->{shared} ? 1 : 0,
                    content => content_string($scfg->{content}),
                    nodes => $nodes,
                };
            # the ZFS pool of a zfspool storage (pve-storage PVE::Storage::ZFSPoolPlugin: `pool`
            # is a pool or a dataset in it)
            $storage->[-1]->{pool} = (split(m!/!, $scfg->{pool}))[0]
                if $scfg->{type} eq 'zfspool' && defined($scfg->{pool});
        }
        $inputs->{storage} = $storage;
    };
    push @$errors, "storage: $@" if $@;

    eval {
        eval { require PVE::DataCenterConfig; };
        $inputs->{datacenter} = PVE::Cluster::cfs_read_file('datacenter.cfg') // {};
    };
    push @$errors, "datacenter.cfg: $@" if $@;

    eval {
        eval { require PVE::AccessControl; };
        my $usercfg = PVE::Cluster::cfs_read_file('user.cfg') // {};
        $inputs->{pools} = { %{ $usercfg->{vms} // {} } };
    };
    push @$errors, "user.cfg: $@" if $@;

    eval {
        # qemu-server and pve-container read it the same way before a migration
        # (PVE::QemuMigrate::prepare, PVE::LXC::Migrate::prepare)
        require PVE::ReplicationConfig;
        my $repl = PVE::ReplicationConfig->new();
        my $jobs = {};
        for my $id (sort keys %{ $repl->{ids} // {} }) {
            my $job = $repl->{ids}->{$id};
            next if ($job->{type} // '') ne 'local';
            my $entry = { id => "$id", target => "$job->{target}" };
            # a disabled job still counts for qemu-server's "replicated VM" checks
            $entry->{disable} = 1 if $job->{disable};
            $entry->{remove_job} = "$job->{remove_job}" if defined($job->{remove_job});
            push @{ $jobs->{ int($job->{guest}) } }, $entry;
        }
        $inputs->{replication} = $jobs;
    };
    push @$errors, "replication.cfg: $@" if $@;

    eval {
        # resource mappings as qemu-server's check_local_resources reads them
        # (PVE::QemuMigrate::Helpers): a mapped device is on every node with a map entry
        my $mappings = {};
        for my $type (qw(pci usb)) {
            my $module = $type eq 'pci' ? 'PVE::Mapping::PCI' : 'PVE::Mapping::USB';
            eval "require $module; 1" or die $@;
            my $cfg = $module->can('config')->();
            for my $id (sort keys %{ $cfg->{ids} // {} }) {
                my $nodes = [
                    grep {
                        my $entries = $module->can('get_node_mapping')->($cfg, $id, $_);
                        $entries && @$entries
                    } $inputs->{nodelist}->@*
                ];
                my $entry = { nodes => $nodes };
                $entry->{'live-migration-capable'} = 1
                    if $type eq 'pci' && $cfg->{ids}->{$id}->{'live-migration-capable'};
                $mappings->{$type}->{$id} = $entry;
            }
        }
        $inputs->{mappings} = $mappings;
    };
    push @$errors, "resource mappings: $@" if $@;

    eval {
        # CPU flags QEMU/KVM offers on each node, as pvestatd broadcasts them
        # (pve-manager PVE/Service/pvestatd.pm update_supported_cpuflags; qemu-server reads them
        # the same way in PVE::QemuServer::CPUFlags::query_available_cpu_flags)
        $inputs->{'cpu-flags'} = PVE::Cluster::get_node_kv('cpuflags-kvm') // {};
        # the model is only known for this node (pve-common PVE::ProcFSTools::read_cpuinfo, as
        # GET /nodes/{node}/status reports it in cpuinfo)
        require PVE::ProcFSTools;
        my $cpuinfo = PVE::ProcFSTools::read_cpuinfo() // {};
        $inputs->{cpuinfo} = { model => $cpuinfo->{model} } if defined($cpuinfo->{model});
    };
    push @$errors, "cpu flags: $@" if $@;

    eval {
        # custom CPU models (qemu-server PVE::QemuServer::CPUConfig,
        # load_custom_cpu_model_config: /etc/pve/virtual-guest/cpu-models.conf)
        require PVE::QemuServer::CPUConfig;
        my $conf = PVE::QemuServer::CPUConfig::load_custom_cpu_model_config() // {};
        my $models = [];
        for my $id (sort keys %{ $conf->{ids} // {} }) {
            my $d = $conf->{ids}->{$id};
            my $entry = { cputype => "custom-$id" };
            for my $key (qw(flags reported-model)) {
                $entry->{$key} = "$d->{$key}" if defined($d->{$key});
            }
            push @$models, $entry;
        }
        $inputs->{'cpu-models'} = $models;
    };
    push @$errors, "cpu-models.conf: $@" if $@;

    eval {
        require PVE::HA::Config;
        my $ha = {};
        $ha->{resources} = PVE::HA::Config::read_resources_config();
        $ha->{rules} = eval { PVE::HA::Config::read_rules_config() };
        $ha->{groups} = eval { PVE::HA::Config::read_group_config() };
        $ha->{'manager-status'} = PVE::HA::Config::read_manager_status();
        $inputs->{ha} = $ha;
    };
    push @$errors, "HA: $@" if $@;

    if ($window > 0) {
        my $rrd = $inputs->{rrd};
        my $avg = {};
        my $members = $inputs->{members};
        for my $node ($inputs->{nodelist}->@*) {
            next if $members && !($members->{$node} && $members->{$node}->{online});
            my $name = rrd_file_name($rrd, 'node', $node) // next;
            my @pressure = $name =~ m!^pve-node-9\.0/! ? map { $_->[2] } @NODE_PRESSURE : ();
            my $a = eval { rrd_average($name, $window, $now, qw(cpu memused), @pressure) };
            if ($@) {
                push @$errors, "rrd $name: $@";
                next;
            }
            if (%$a) {
                $avg->{"node/$node"} = { cpu => $a->{cpu}, mem => $a->{memused} };
                for my $p (@NODE_PRESSURE) {
                    $avg->{"node/$node"}->{pressure}->{ $p->[1] } = $a->{ $p->[2] }
                        if defined($a->{ $p->[2] });
                }
            }
        }
        for my $vmid (sort { $a <=> $b } keys %$ids) {
            my $key = rrd_key($rrd, 'vm', $vmid) // next;
            my $status = $rrd->{$key}->[$VM_STATUS] // '';
            next if $status ne 'running' && $status ne 'paused';
            my $name = rrd_file_name($rrd, 'vm', $vmid);
            my $a = eval { rrd_average($name, $window, $now, qw(cpu mem)) };
            if ($@) {
                push @$errors, "rrd $name: $@";
                next;
            }
            $avg->{"vm/$vmid"} = $a if %$a;
        }
        $inputs->{'rrd-average'} = $avg;
    }

    chomp(@$errors);
    $inputs->{errors} = $errors;

    return $inputs;
}

my sub num {
    my ($value) = @_;
    return ($value || 0) + 0;
}

my sub node_entry {
    my ($inputs, $node) = @_;

    my $rrd = $inputs->{rrd};
    my $members = $inputs->{members};

    my $entry = {
        id => "node/$node",
        node => $node,
        type => 'node',
        status => 'unknown',
    };

    my $online_member = !$members || ($members->{$node} && $members->{$node}->{online});

    if (my $key = rrd_key($rrd, 'node', $node)) {
        my $d = $rrd->{$key};
        if ($online_member) {
            $entry->{uptime} = num($d->[$NODE_UPTIME]);
            $entry->{cpu} = num($d->[$NODE_CPU]);
            $entry->{mem} = num($d->[$NODE_MEMUSED]);
            $entry->{disk} = num($d->[$NODE_ROOTUSED]);
            $entry->{status} = 'online';
        }
        $entry->{level} = $d->[$NODE_LEVEL] // '';
        $entry->{maxcpu} = num($d->[$NODE_MAXCPU]);
        $entry->{maxmem} = num($d->[$NODE_MEMTOTAL]);
        $entry->{maxdisk} = num($d->[$NODE_ROOTTOTAL]);
    }

    $entry->{status} = 'offline' if $members && $members->{$node} && !$members->{$node}->{online};

    my $info = eval { decode_json($inputs->{'static-info'}->{$node} // '') } // {};
    if (defined(my $mode = $info->{'cgroup-mode'})) {
        $entry->{'cgroup-mode'} = int($mode);
    }
    if (defined(my $arch = $info->{'host-arch'})) {
        $entry->{'host-arch'} = $arch;
    }

    if ($entry->{status} eq 'online') {
        # static-info fills in what a missing or empty RRD record lacks
        $entry->{maxcpu} = int($info->{cpus}) if !$entry->{maxcpu} && $info->{cpus};
        $entry->{maxmem} = int($info->{memory}) if !$entry->{maxmem} && $info->{memory};

        if (my $avg = $inputs->{'rrd-average'}->{"node/$node"}) {
            $entry->{cpu} = $avg->{cpu} + 0 if defined($avg->{cpu});
            $entry->{mem} = int($avg->{mem} + 0.5) if defined($avg->{mem});
            $entry->{mem} = $entry->{maxmem}
                if $entry->{maxmem} && $entry->{mem} > $entry->{maxmem};
        }
    }

    my $ns = $inputs->{ha}->{'manager-status'}->{node_status} // {};
    $entry->{hastate} = $ns->{$node} if defined($ns->{$node});

    return $entry;
}

my sub config_maxcpu {
    my ($type, $conf) = @_;

    if ($type eq 'qemu') {
        return int($conf->{vcpus}) if $conf->{vcpus};
        return int(($conf->{sockets} || 1) * ($conf->{cores} || 1));
    }
    return $conf->{cpulimit} + 0 if $conf->{cpulimit};
    return int($conf->{cores}) if $conf->{cores};
    return undef; # a container without a limit may use every host CPU
}

my sub config_maxmem {
    my ($conf) = @_;

    my $memory = $conf->{memory} // 512;
    # qemu allows "current=4096,..." property strings
    $memory = $1 if $memory =~ m/(?:^|,)(?:current=)?(\d+)(?:,|$)/;
    return int($memory) * 1024 * 1024;
}

my sub guest_entry {
    my ($inputs, $vmid, $d, $node_entries) = @_;

    my $rrd = $inputs->{rrd};
    my $conf = $inputs->{configs}->{$vmid} // {};

    my $entry = {
        id => "$d->{type}/$vmid",
        vmid => $vmid + 0,
        node => $d->{node},
        type => $d->{type},
        status => 'unknown',
    };

    if (my $key = rrd_key($rrd, 'vm', $vmid)) {
        my $r = $rrd->{$key};
        $entry->{uptime} = num($r->[$VM_UPTIME]);
        $entry->{name} = $r->[$VM_NAME] if defined($r->[$VM_NAME]);
        $entry->{status} = $r->[$VM_STATUS] if defined($r->[$VM_STATUS]);
        $entry->{template} = num($r->[$VM_TEMPLATE]);
        $entry->{maxcpu} = num($r->[$VM_MAXCPU]);
        $entry->{cpu} = num($r->[$VM_CPU]);
        $entry->{maxmem} = num($r->[$VM_MAXMEM]);
        $entry->{mem} = num($r->[$VM_MEM]);
        $entry->{maxdisk} = num($r->[$VM_MAXDISK]);
        $entry->{disk} = num($r->[$VM_DISK]);
        $entry->{netin} = num($r->[$VM_NETIN]);
        $entry->{netout} = num($r->[$VM_NETOUT]);
        $entry->{diskread} = num($r->[$VM_DISKREAD]);
        $entry->{diskwrite} = num($r->[$VM_DISKWRITE]);
        $entry->{memhost} = num($r->[$VM_MEMHOST]) if $key =~ m/^pve-vm-/;
    }

    # No RRD record yet (a guest created moments ago): what the HA static scheduler would use.
    if (!$entry->{maxcpu}) {
        my $maxcpu = config_maxcpu($d->{type}, $conf);
        my $node = $node_entries->{ $d->{node} };
        $maxcpu = $node->{maxcpu} if !$maxcpu && $node;
        $entry->{maxcpu} = $maxcpu // 1;
    }
    $entry->{maxmem} = config_maxmem($conf) if !$entry->{maxmem};
    $entry->{template} //= $conf->{template} ? 1 : 0;
    if (!defined($entry->{name})) {
        my $name = $conf->{name} // $conf->{hostname};
        $entry->{name} = $name if defined($name);
    }

    if (my $pool = $inputs->{pools}->{$vmid}) {
        $entry->{pool} = $pool;
    }

    my $props = $inputs->{props}->{$vmid} // {};
    for my $prop (qw(lock tags)) {
        $entry->{$prop} = $props->{$prop} if defined($props->{$prop});
    }

    my $hatype = { qemu => 'vm', lxc => 'ct' }->{ $d->{type} };
    if ($hatype) {
        my $sid = "$hatype:$vmid";
        my $ss = $inputs->{ha}->{'manager-status'}->{service_status} // {};
        my $hacfg = $inputs->{ha}->{resources}->{ids} // {};
        if (my $service = $ss->{$sid}) {
            $entry->{hastate} = $service->{state} if defined($service->{state});
        } elsif ($service = $hacfg->{$sid}) {
            $entry->{hastate} = $service->{state} // 'started';
        }
    }

    return $entry;
}

my sub storage_entries {
    my ($inputs) = @_;

    my $rrd = $inputs->{rrd};
    my $res = [];
    for my $s (@{ $inputs->{storage} // [] }) {
        for my $node (sort @{ $s->{nodes} }) {
            my $entry = {
                id => "storage/$node/$s->{storage}",
                storage => $s->{storage},
                node => $node,
                type => 'storage',
                plugintype => $s->{type},
                status => 'unknown',
                shared => $s->{shared} ? 1 : 0,
                content => $s->{content},
            };
            if (my $key = rrd_key($rrd, 'storage', "$node/$s->{storage}")) {
                my $d = $rrd->{$key};
                $entry->{maxdisk} = num($d->[$STORAGE_MAXDISK]);
                $entry->{disk} = num($d->[$STORAGE_DISK]);
                $entry->{status} = 'available';
            }
            push @$res, $entry;
        }
    }
    return $res;
}

my sub ha_part {
    my ($inputs) = @_;

    my $ha = $inputs->{ha} // return undef;
    my $res = {};

    my $resources = [];
    my $ids = $ha->{resources}->{ids} // {};
    for my $sid (sort keys %$ids) {
        my $d = $ids->{$sid};
        my $state = $d->{state} // 'started';
        $state = 'started' if $state eq 'enabled';
        my $entry = { sid => $sid, state => $state };
        $entry->{type} = $d->{type} if defined($d->{type});
        for my $key (qw(group failback max_restart max_relocate)) {
            $entry->{$key} = $d->{$key} if defined($d->{$key});
        }
        for my $key (qw(failback max_restart max_relocate)) {
            $entry->{$key} += 0 if defined($entry->{$key});
        }
        push @$resources, $entry;
    }
    $res->{resources} = $resources;

    my $rules = [];
    my $rule_ids = $ha->{rules}->{ids} // {};
    for my $ruleid (sort keys %$rule_ids) {
        my $d = $rule_ids->{$ruleid};
        my $entry = { rule => $ruleid, type => $d->{type} };
        $entry->{resources} = join(',', sort keys %{ $d->{resources} // {} });
        if (my $nodes = $d->{nodes}) {
            $entry->{nodes} = join(
                ',',
                map {
                    my $prio = ref($nodes->{$_}) ? $nodes->{$_}->{priority} : undef;
                    $prio ? "$_:$prio" : $_
                } sort keys %$nodes
            );
        }
        for my $key (qw(strict affinity disable)) {
            $entry->{$key} = $d->{$key} if defined($d->{$key});
        }
        for my $key (qw(strict disable)) {
            $entry->{$key} += 0 if defined($entry->{$key});
        }
        push @$rules, $entry;
    }
    $res->{rules} = $rules;

    my $group_ids = $ha->{groups} && $ha->{groups}->{ids} ? $ha->{groups}->{ids} : {};
    if (%$group_ids) {
        my $groups = [];
        for my $group (sort keys %$group_ids) {
            my $d = $group_ids->{$group};
            my $entry = { group => $group };
            $entry->{nodes} = join(',', sort keys %{ $d->{nodes} // {} });
            $entry->{restricted} = $d->{restricted} ? 1 : 0;
            $entry->{nofailback} = $d->{nofailback} ? 1 : 0;
            push @$groups, $entry;
        }
        $res->{groups} = $groups;
    }

    $res->{'manager-status'} = $ha->{'manager-status'} // {};

    return $res;
}

=head3 build_snapshot($inputs, %opts)

Turns read_inputs() output into the extended snapshot of docs/snapshot.md. Options:
C<options> (engine options for the snapshot's C<options> object), C<version> (recorded in
C<source>). Nodes are sorted by name, guests by vmid, storages by name and node.

=cut

sub build_snapshot {
    my ($inputs, %opts) = @_;

    my $resources = [];

    my $node_entries = {};
    for my $node (@{ $inputs->{nodelist} // [] }) {
        my $entry = node_entry($inputs, $node);
        $node_entries->{$node} = $entry;
        push @$resources, $entry;
    }

    my $ids = $inputs->{vmlist}->{ids} // {};
    my $guest_entries = {};
    for my $vmid (sort { $a <=> $b } keys %$ids) {
        my $d = $ids->{$vmid};
        next if !$d->{type} || ($d->{type} ne 'qemu' && $d->{type} ne 'lxc');
        next if !$node_entries->{ $d->{node} }; # not in the node list: would be invalid input
        my $entry = guest_entry($inputs, $vmid, $d, $node_entries);
        $guest_entries->{$vmid} = $entry;
        push @$resources, $entry;
    }

    push @$resources, storage_entries($inputs)->@*;

    my $guests = {};
    for my $vmid (sort { $a <=> $b } keys %$guest_entries) {
        my $g = {};
        if (my $conf = $inputs->{configs}->{$vmid}) {
            $g->{config} = $conf->{filtered} // {};
        }
        if (my $jobs = $inputs->{replication}->{$vmid}) {
            $g->{replication} = [map { {%$_} } @$jobs] if @$jobs;
        }
        if (my $avg = $inputs->{'rrd-average'}->{"vm/$vmid"}) {
            my $rrd = {};
            $rrd->{cpu} = $avg->{cpu} + 0 if defined($avg->{cpu});
            $rrd->{mem} = int($avg->{mem} + 0.5) if defined($avg->{mem});
            $g->{rrd} = $rrd if %$rrd;
        }
        $guests->{$vmid} = $g if %$g;
    }

    # ZFS pools per node, from the zfspool storages: a pool's size is the largest maxdisk of
    # its storages there (several storages may share one pool)
    my $zfs = {};
    my %pool_of = map { $_->{storage} => $_->{pool} } grep { defined($_->{pool}) }
        @{ $inputs->{storage} // [] };
    for my $e (@$resources) {
        next if ($e->{type} // '') ne 'storage' || !defined($e->{maxdisk});
        my $pool = $pool_of{ $e->{storage} } // next;
        my $size = $zfs->{ $e->{node} }->{$pool} // 0;
        $zfs->{ $e->{node} }->{$pool} = $e->{maxdisk} if $e->{maxdisk} > $size;
    }

    # nodes.<name>: CPU, ZFS pools, ARC size, PSI (docs/snapshot.md "Node details")
    my $node_details = {};
    for my $node (sort keys %$node_entries) {
        my $d = {};
        if (my $pools = $zfs->{$node}) {
            $d->{zfs} = [map { { name => $_, size => $pools->{$_} + 0 } } sort keys %$pools];
        }
        my $key = rrd_key($inputs->{rrd}, 'node', $node);
        if ($key && $key =~ m!^pve-node-9\.0/! && $node_entries->{$node}->{status} eq 'online') {
            my $record = $inputs->{rrd}->{$key};
            my $arc = $record->[$NODE_ARCSIZE];
            $d->{'arc-size'} = int($arc) if defined($arc) && length($arc) && $arc > 0;
            # PSI: the RRD average over the window, else the last sample
            my $avg = $inputs->{'rrd-average'}->{"node/$node"}->{pressure};
            my $pressure = {};
            for my $p (@NODE_PRESSURE) {
                my $value = $avg && defined($avg->{ $p->[1] })
                    ? $avg->{ $p->[1] } : $record->[ $p->[0] ];
                next if !defined($value) || !length($value) || $value !~ m/^[0-9.eE+-]+$/;
                $value = 100 if $value > 100;
                $pressure->{ $p->[1] } = $value + 0;
            }
            $d->{pressure} = $pressure if %$pressure;
        }
        my $flags = $inputs->{'cpu-flags'}->{$node};
        $d->{'cpu-flags'} = "$flags" if defined($flags) && length($flags);
        if ($node eq ($inputs->{nodename} // '') && (my $cpuinfo = $inputs->{cpuinfo})) {
            $d->{status}->{cpuinfo}->{model} = "$cpuinfo->{model}"
                if defined($cpuinfo->{model}) && $cpuinfo->{model} ne 'unknown';
        }
        $node_details->{$node} = $d if %$d;
    }

    my $snapshot = {
        resources => $resources,
        guests => $guests,
        options => $opts{options} // {},
        source => "pve-balancer" . ($opts{version} ? " $opts{version}" : '')
            . " on " . ($inputs->{nodename} // 'unknown'),
        'x-pve-balancer' => {
            collected => $inputs->{time},
            node => $inputs->{nodename},
            'rrd-window' => $inputs->{'rrd-window'} // 0,
        },
    };
    if (my $errors = $inputs->{errors}) {
        $snapshot->{'x-pve-balancer'}->{errors} = [@$errors] if @$errors;
    }

    if (my $ha = ha_part($inputs)) {
        $snapshot->{ha} = $ha;
    }

    $snapshot->{nodes} = $node_details if %$node_details;
    if (my $models = $inputs->{'cpu-models'}) {
        $snapshot->{'cpu-models'} = [map { {%$_} } @$models] if @$models;
    }

    my $mappings = $inputs->{mappings} // {};
    if (grep { %{ $mappings->{$_} // {} } } keys %$mappings) {
        $snapshot->{mappings} = {};
        for my $type (sort keys %$mappings) {
            for my $id (sort keys %{ $mappings->{$type} }) {
                my $m = $mappings->{$type}->{$id};
                my $entry = { nodes => [sort @{ $m->{nodes} }] };
                $entry->{'live-migration-capable'} = 1 if $m->{'live-migration-capable'};
                $snapshot->{mappings}->{$type}->{$id} = $entry;
            }
        }
    }

    return $snapshot;
}

=head3 ha_managed_vmids($snapshot)

The vmids of the guests that are HA-managed, sorted: configured and not C<ignored>, and none
while HA is disarmed with resource mode C<ignore> (pve-ha-manager PVE::HA::Config,
service_check_ha_state: such guests are migrated like unmanaged ones).

=cut

sub ha_managed_vmids {
    my ($snapshot) = @_;

    my $disarm = ha_disarm($snapshot);
    return [] if $disarm && ($disarm->{mode} // '') eq 'ignore';

    my $res = [];
    for my $r (@{ $snapshot->{ha}->{resources} // [] }) {
        next if ($r->{state} // '') eq 'ignored';
        my ($vmid) = ($r->{sid} // '') =~ m/^(?:(?:vm|ct):)?(\d+)$/ or next;
        push @$res, $vmid + 0;
    }
    return [sort { $a <=> $b } @$res];
}

=head3 ha_disarm($snapshot)

The C<disarm> part of the HA manager status (C<mode> C<freeze> or C<ignore>, C<state>
C<disarming> or C<disarmed>), or undef while HA is armed.

=cut

sub ha_disarm {
    my ($snapshot) = @_;

    my $disarm = $snapshot->{ha}->{'manager-status'}->{disarm};
    return ref($disarm) eq 'HASH' ? $disarm : undef;
}

=head3 mark_ignored($snapshot, $vmids)

Adds the tag C<pvebal-ignore> to the given guests, so the planners keep them where they are
(they still count on their node).

=cut

sub mark_ignored {
    my ($snapshot, $vmids) = @_;

    my %ignore = map { my $v = $_; (0 + $v) => 1 } @$vmids;
    for my $e (@{ $snapshot->{resources} }) {
        next if !defined($e->{vmid});
        my $vmid = $e->{vmid}; # a copy: a hash key lookup would stringify the entry's number
        next if !$ignore{$vmid};
        my @tags = grep { length } split(/[;,\s]+/, $e->{tags} // '');
        next if grep { lc($_) eq 'pvebal-ignore' } @tags;
        $e->{tags} = join(';', @tags, 'pvebal-ignore');
    }
    return $snapshot;
}

=head3 guest_index($snapshot)

A hash vmid => resource entry of the snapshot's guests. The entries' numbers stay numbers
(JSON::XS writes a number that was ever used as a string as a string, and the engine refuses
it): index with a copy, never with C<$e-E<gt>{vmid}> itself.

=cut

sub guest_index {
    my ($snapshot) = @_;

    my $res = {};
    for my $e (@{ $snapshot->{resources} }) {
        next if !$e->{type} || ($e->{type} ne 'qemu' && $e->{type} ne 'lxc');
        my $vmid = $e->{vmid}; # a copy: a hash key would stringify the entry's number
        $res->{$vmid} = $e;
    }
    return $res;
}

=head3 node_index($snapshot)

A hash node name => node entry of the snapshot.

=cut

sub node_index {
    my ($snapshot) = @_;

    my $res = {};
    for my $e (@{ $snapshot->{resources} }) {
        next if ($e->{type} // '') ne 'node';
        $res->{ $e->{node} } = $e;
    }
    return $res;
}

1;
