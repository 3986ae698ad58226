package PVE::Balancer::State;

# Cluster state collection: reads the live state in-process, the way GET /cluster/resources
# and the HA manager do, and turns it into exactly the snapshot structure of docs/snapshot.md
# (the extended object), so the engine, the offline CLI and `pvesh get
# /cluster/balance/snapshot` all see the same input.
#
# Two halves:
#   read_inputs()     impure: PVE::Cluster, guest configs, storage.cfg, datacenter.cfg, HA
#                     config and manager status, RRD history. Called through the Env backend.
#   build_snapshot()  pure: inputs -> snapshot. Its entries (nodes, guests, storages, the HA
#                     part) are PVE::Balancer::State::Entries; the field mapping mirrors
#                     PVE::API2Tools::extract_{node,vm,storage}_stats.
# The RRD records and averages (layout and files) are PVE::Balancer::State::RRD; what each node
# publishes of itself for the others (CPU model, zfs_arc_max) is PVE::Balancer::State::NodeInfo.

use strict;
use warnings;

use List::Util ();

use PVE::Cluster;
use PVE::INotify;

use PVE::Balancer::State::Entries;
use PVE::Balancer::State::NodeInfo;
use PVE::Balancer::State::RRD;

# Guest config keys the engine reads (docs/snapshot.md "Guest details"); everything else in a
# config (passwords, cloud-init, descriptions) stays out of the snapshot.
my $config_key_re = qr/^(?:
    (?:ide|sata|scsi|virtio|efidisk|tpmstate|unused|mp)\d+ | rootfs      # disks
    | (?:hostpci|usb|serial|parallel|dev)\d+                             # devices
    | cpu                                                                # CPU type and flags
)$/x;

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

my sub content_string {
    my ($content) = @_;

    return join(',', sort grep { $content->{$_} } keys %{ $content // {} });
}

# storage.cfg as the snapshot needs it: id, type, shared, content, the nodes where it is
# enabled and, for a zfspool storage, its pool. Dies when storage.cfg cannot be read.
my sub read_storage {
    my ($nodelist) = @_;

    require PVE::Storage;
    my $cfg = PVE::Storage::config();
    my $storage = [];
    for my $storeid (sort(PVE::Storage::storage_ids($cfg))) {
        my $scfg = PVE::Storage::storage_config($cfg, $storeid);
        my $nodes = [
            grep { PVE::Storage::storage_check_enabled($cfg, $storeid, $_, 1) }
                @$nodelist
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
    return $storage;
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

    eval { $inputs->{storage} = read_storage($inputs->{nodelist}) };
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
    };
    push @$errors, "cpu flags: $@" if $@;

    # CPU model and zfs_arc_max: what each node's pve-balancer broadcast (NodeInfo::broadcast),
    # this node's own read now
    my $info = {};
    eval {
        my $raw = PVE::Cluster::get_node_kv($PVE::Balancer::State::NodeInfo::KEY) // {};
        for my $node (sort keys %$raw) {
            my $decoded = eval { PVE::Balancer::State::NodeInfo::parse($raw->{$node}) };
            if (my $err = $@) {
                chomp $err;
                push @$errors, "node info of $node ($PVE::Balancer::State::NodeInfo::KEY): $err";
                next;
            }
            $info->{$node} = $decoded;
        }
    };
    push @$errors, "node info: $@" if $@;
    my ($local, $local_errors) = PVE::Balancer::State::NodeInfo::local_info();
    $info->{ $inputs->{nodename} } = $local;
    push @$errors, @$local_errors;
    $inputs->{'node-info'} = $info;

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
        my ($avg, $rrd_errors) = PVE::Balancer::State::RRD::read_averages($inputs, $window, $now);
        $inputs->{'rrd-average'} = $avg;
        push @$errors, @$rrd_errors;
    }

    chomp(@$errors);
    $inputs->{errors} = $errors;

    return $inputs;
}

# ZFS pools per node, from the zfspool storages among the storage entries: { node => { pool =>
# bytes } }, a pool's size the largest maxdisk of its storages there (several storages may
# share one pool).
my sub zfs_pools {
    my ($inputs, $entries) = @_;

    my $zfs = {};
    my %pool_of = map { $_->{storage} => $_->{pool} } grep { defined($_->{pool}) }
        @{ $inputs->{storage} // [] };
    for my $e (@$entries) {
        next if ($e->{type} // '') ne 'storage' || !defined($e->{maxdisk});
        my $pool = $pool_of{ $e->{storage} } // next;
        my $size = $zfs->{ $e->{node} }->{$pool} // 0;
        $zfs->{ $e->{node} }->{$pool} = $e->{maxdisk} if $e->{maxdisk} > $size;
    }
    return $zfs;
}

# The current ARC size of a node (bytes), from its pve-node-9.0 RRD record, or undef.
my sub arc_size {
    my ($record) = @_;

    return undef if !$record || !$record->{pve9};
    my $arc = $record->{arcsize};
    return defined($arc) && length($arc) && $arc =~ m/^[0-9.eE+]+$/ && $arc > 0 ? int($arc)
        : undef;
}

=head3 node_memory($inputs)

What decides each node's memory reserve besides the options (docs/constraints.md, "Room on the
node"): C<< { NODE => { zfs => BYTES, 'arc-max' => BYTES, 'arc-size' => BYTES } } >>, the sum
of its ZFS pools, its zfs_arc_max and its current ARC size, each only where known. From the
same inputs and rules as build_snapshot(); only C<nodelist>, C<rrd>, C<storage> and
C<node-info> are needed. Pure.

=cut

sub node_memory {
    my ($inputs) = @_;

    my $zfs = zfs_pools($inputs, PVE::Balancer::State::Entries::storage_entries($inputs));
    my $res = {};
    for my $node (@{ $inputs->{nodelist} // [] }) {
        my $m = {};
        my $pools = $zfs->{$node} // {};
        $m->{zfs} = 0 + List::Util::sum0(values %$pools) if %$pools;
        my $arc_max = $inputs->{'node-info'}->{$node}->{'arc-max'};
        $m->{'arc-max'} = $arc_max + 0 if defined($arc_max);
        my $size = arc_size(PVE::Balancer::State::RRD::node_record($inputs->{rrd}, $node));
        $m->{'arc-size'} = $size if defined($size);
        $res->{$node} = $m if %$m;
    }
    return $res;
}

=head3 read_node_memory()

node_memory() of the live cluster, read in-process: the node list, the RRD records, storage.cfg
and every node's broadcast node info (this node's read now). For pve-ha-manager's scheduler
hook (capacity-aware mode), which has no snapshot. Dies when a part cannot be read.

=cut

sub read_node_memory {
    my $nodelist = [sort @{ PVE::Cluster::get_nodelist() // [] }];
    my $info = {};
    my $raw = PVE::Cluster::get_node_kv($PVE::Balancer::State::NodeInfo::KEY) // {};
    for my $node (sort keys %$raw) {
        my $decoded = eval { PVE::Balancer::State::NodeInfo::parse($raw->{$node}) } // next; # skipped: no ARC data
        $info->{$node} = $decoded;
    }
    my ($local) = PVE::Balancer::State::NodeInfo::local_info();
    $info->{ PVE::INotify::nodename() } = $local;
    return node_memory({
        nodelist => $nodelist,
        rrd => PVE::Cluster::rrd_dump() // {},
        storage => read_storage($nodelist),
        'node-info' => $info,
    });
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
        my $entry = PVE::Balancer::State::Entries::node_entry($inputs, $node);
        $node_entries->{$node} = $entry;
        push @$resources, $entry;
    }

    my $ids = $inputs->{vmlist}->{ids} // {};
    my $guest_entries = {};
    for my $vmid (sort { $a <=> $b } keys %$ids) {
        my $d = $ids->{$vmid};
        next if !$d->{type} || ($d->{type} ne 'qemu' && $d->{type} ne 'lxc');
        next if !$node_entries->{ $d->{node} }; # not in the node list: would be invalid input
        my $entry = PVE::Balancer::State::Entries::guest_entry($inputs, $vmid, $d, $node_entries);
        $guest_entries->{$vmid} = $entry;
        push @$resources, $entry;
    }

    push @$resources, PVE::Balancer::State::Entries::storage_entries($inputs)->@*;

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
            for my $key (qw(diskread diskwrite)) {
                $rrd->{$key} = $avg->{$key} + 0 if defined($avg->{$key});
            }
            $g->{rrd} = $rrd if %$rrd;
        }
        $guests->{$vmid} = $g if %$g;
    }

    my $zfs = zfs_pools($inputs, $resources);

    # nodes.<name>: CPU, ZFS pools, ARC size, PSI (docs/snapshot.md "Node details")
    my $node_details = {};
    for my $node (sort keys %$node_entries) {
        my $d = {};
        if (my $pools = $zfs->{$node}) {
            $d->{zfs} = [map { { name => $_, size => $pools->{$_} + 0 } } sort keys %$pools];
        }
        my $record = PVE::Balancer::State::RRD::node_record($inputs->{rrd}, $node);
        if ($record && $record->{pve9} && $node_entries->{$node}->{status} eq 'online') {
            my $arc = arc_size($record);
            $d->{'arc-size'} = $arc if defined($arc);
            # PSI: the RRD average over the window, else the last sample
            my $avg = $inputs->{'rrd-average'}->{"node/$node"}->{pressure};
            my $pressure = {};
            for my $kind (PVE::Balancer::State::RRD::pressure_kinds()) {
                my $value = $avg && defined($avg->{$kind}) ? $avg->{$kind}
                    : $record->{pressure}->{$kind};
                next if !defined($value) || !length($value) || $value !~ m/^[0-9.eE+-]+$/;
                $value = 100 if $value > 100;
                $pressure->{$kind} = $value + 0;
            }
            $d->{pressure} = $pressure if %$pressure;
        }
        my $flags = $inputs->{'cpu-flags'}->{$node};
        $d->{'cpu-flags'} = "$flags" if defined($flags) && length($flags);
        if (my $info = $inputs->{'node-info'}->{$node}) {
            my $model = $info->{'cpu-model'};
            $d->{status}->{cpuinfo}->{model} = "$model"
                if defined($model) && length($model) && $model ne 'unknown';
            $d->{'arc-max'} = $info->{'arc-max'} + 0 if defined($info->{'arc-max'});
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

    if (my $ha = PVE::Balancer::State::Entries::ha_part($inputs)) {
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
