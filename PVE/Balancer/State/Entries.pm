package PVE::Balancer::State::Entries;

# The entries of the snapshot that PVE::Balancer::State::build_snapshot assembles, each from
# read_inputs() output: the resources (nodes, guests, storages: the field mapping mirrors
# PVE::API2Tools::extract_{node,vm,storage}_stats) and the HA part. Pure functions.

use strict;
use warnings;

use JSON;

use PVE::Balancer::State::RRD;

my sub num {
    my ($value) = @_;
    return ($value || 0) + 0;
}

=head3 node_entry($inputs, $node)

The C<node/NAME> resource entry of a node of read_inputs() output, as GET /cluster/resources
shows it (PVE::API2Tools::extract_node_stats), with static-info filling in what the RRD record
lacks, the RRD average as its load when there is one, and its HA node state.

=cut

sub node_entry {
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

    if (my $d = PVE::Balancer::State::RRD::node_record($rrd, $node)) {
        if ($online_member) {
            $entry->{uptime} = num($d->{uptime});
            $entry->{cpu} = num($d->{cpu});
            $entry->{mem} = num($d->{memused});
            $entry->{disk} = num($d->{rootused});
            $entry->{status} = 'online';
        }
        $entry->{level} = $d->{level} // '';
        $entry->{maxcpu} = num($d->{maxcpu});
        $entry->{maxmem} = num($d->{memtotal});
        $entry->{maxdisk} = num($d->{roottotal});
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

=head3 guest_entry($inputs, $vmid, $d, $node_entries)

The C<qemu/VMID> or C<lxc/VMID> resource entry of a guest (C<$d>: its vmlist entry), as GET
/cluster/resources shows it (PVE::API2Tools::extract_vm_stats); without an RRD record yet, the
sizes the HA static scheduler would use (its config, else its node's CPUs). With pool, lock,
tags and HA state.

=cut

sub guest_entry {
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

    if (my $r = PVE::Balancer::State::RRD::guest_record($rrd, $vmid)) {
        $entry->{uptime} = num($r->{uptime});
        $entry->{name} = $r->{name} if defined($r->{name});
        $entry->{status} = $r->{status} if defined($r->{status});
        $entry->{$_} = num($r->{$_})
            for qw(template maxcpu cpu maxmem mem maxdisk disk netin netout diskread diskwrite);
        $entry->{memhost} = num($r->{memhost}) if exists($r->{memhost}); # PVE 9 records only
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

=head3 storage_entries($inputs)

The C<storage/NODE/ID> resource entries of every storage on every node it is enabled on
(PVE::API2Tools::extract_storage_stats).

=cut

sub storage_entries {
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
            if (my $d = PVE::Balancer::State::RRD::storage_record($rrd, $node, $s->{storage})) {
                $entry->{maxdisk} = num($d->{maxdisk});
                $entry->{disk} = num($d->{disk});
                $entry->{status} = 'available';
            }
            push @$res, $entry;
        }
    }
    return $res;
}

=head3 ha_part($inputs)

The C<ha> object of the snapshot (resources, rules, groups, manager status) from the HA
configuration of C<$inputs>, or undef when it could not be read.

=cut

sub ha_part {
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

1;
