package PVE::Balancer::State::NodeInfo;

# What a node publishes of itself for the node that builds the snapshot (PVE::Balancer::State),
# because no other node can read it: its CPU model and its zfs_arc_max, in the pmxcfs node
# key-value store. Published by pve-balancer-node-info on every node (docs/snapshot.md).

use strict;
use warnings;

use PVE::Cluster;
use PVE::INotify;

# The node key-value store key (pmxcfs kv/<key>, at most 32 KiB of text per node) under which
# every node's pve-balancer publishes what other nodes cannot read: its CPU model and its
# zfs_arc_max. JSON: {"cpu-model": "...", "arc-max": BYTES}; either may be missing.
our $KEY = 'pve-balancer-node-info';

# The ZFS module parameter (OpenZFS, module/os/linux/zfs/arc_os.c): the ARC's configured
# maximum in bytes, 0 for the module's default. Absent while the zfs module is not loaded.
our $ZFS_ARC_MAX_FILE = '/sys/module/zfs/parameters/zfs_arc_max';

my $max_bytes = 2**56; # the engine's bound for byte counts (native/src/io/snapshot_parts.h)

my sub check_arc_max {
    my ($value, $what) = @_;

    die "$what: expected a non-negative integer (bytes), got '$value'\n"
        if $value !~ m/^[0-9]+$/ || $value > $max_bytes;
    return $value + 0;
}

=head3 parse($text)

The node info one node broadcast under C<$KEY>, checked: C<< { 'cpu-model' => TEXT,
'arc-max' => BYTES } >> (either may be missing; C<arc-max> 0 means the ZFS default). Dies
naming the field on anything else. Keys it does not know are skipped (a newer pve-balancer).

=cut

sub parse {
    my ($text) = @_;

    require JSON;
    my $data = eval { JSON::decode_json($text) };
    die "expected a JSON object\n" if $@ || ref($data) ne 'HASH';
    my $res = {};
    if (defined(my $model = $data->{'cpu-model'})) {
        die "cpu-model: expected a string\n" if ref($model);
        $res->{'cpu-model'} = "$model";
    }
    if (defined(my $arc = $data->{'arc-max'})) {
        die "arc-max: expected a non-negative integer (bytes)\n" if ref($arc);
        $res->{'arc-max'} = check_arc_max($arc, 'arc-max');
    }
    return $res;
}

=head3 local_info()

This node's info as broadcast() publishes it: C<cpu-model> (pve-common
PVE::ProcFSTools::read_cpuinfo, what GET /nodes/{node}/status shows as cpuinfo.model) and
C<arc-max> (C<$ZFS_ARC_MAX_FILE>; missing without the zfs module). Returns the info and a list
of errors (a part that cannot be read is left out).

=cut

sub local_info {
    my $info = {};
    my $errors = [];

    eval {
        require PVE::ProcFSTools;
        my $cpuinfo = PVE::ProcFSTools::read_cpuinfo() // {};
        my $model = $cpuinfo->{model};
        $info->{'cpu-model'} = "$model"
            if defined($model) && length($model) && $model ne 'unknown';
    };
    push @$errors, "cpu model: $@" if $@;

    eval {
        require PVE::Tools;
        my $line = PVE::Tools::file_read_firstline($ZFS_ARC_MAX_FILE);
        if (defined($line)) {
            $line =~ s/^\s+|\s+$//g;
            $info->{'arc-max'} = check_arc_max($line, $ZFS_ARC_MAX_FILE);
        }
    };
    push @$errors, "zfs_arc_max: $@" if $@;

    chomp(@$errors);
    return ($info, $errors);
}

=head3 broadcast()

Publishes local_info() in the node key-value store under C<$KEY> (pve-cluster
PVE::Cluster::broadcast_node_kv, as pvestatd publishes C<cpuflags-kvm> and C<static-info>),
so that the node building a snapshot knows every node's CPU model and zfs_arc_max. Only
when it changed (pvestatd's update_node_static_info does the same). Needs root: pmxcfs
refuses status updates from read-only (www-data) clients. Returns 1 when it broadcast.

=cut

sub broadcast {
    my ($info, $errors) = local_info();
    warn "pve-balancer: $_\n" for @$errors;

    require JSON;
    my $text = JSON->new->canonical->encode($info);
    my $node = PVE::INotify::nodename();
    my $old = PVE::Cluster::get_node_kv($KEY, $node) // {};
    return 0 if defined($old->{$node}) && $old->{$node} eq $text;
    PVE::Cluster::broadcast_node_kv($KEY, $text);
    return 1;
}

1;
