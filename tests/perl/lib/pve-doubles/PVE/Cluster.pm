package PVE::Cluster;

# Test double of pve-cluster's PVE::Cluster (src/PVE/Cluster.pm): the pmxcfs views the balancer reads (node list,
# members, vmlist, rrd_dump, node key-value store, guest config properties, parsed cluster
# files) answered from the simulated cluster, and cfs_lock_domain with the real error
# convention (returns undef and sets $@ instead of dying).

use strict;
use warnings;

use base 'Exporter';
our @EXPORT_OK = qw(cfs_read_file cfs_write_file cfs_lock_file cfs_register_file);

my sub sim {
    return PVEBalancerTest::SimCluster->current();
}

our $update_count = 0;

sub cfs_update {
    my ($fail) = @_;
    $update_count++;
    return;
}

sub check_cfs_quorum {
    my ($noerr) = @_;

    my $sim = sim();
    return 1 if !$sim || !$sim->{no_quorum};
    return 0 if $noerr;
    die "cluster not ready - no quorum?\n";
}

sub get_members {
    my $sim = sim() or return undef;
    return $sim->members();
}

sub get_nodelist {
    my $sim = sim() or return ['localhost'];
    return [sort keys %{ $sim->{nodes} }];
}

sub get_vmlist {
    my $sim = sim() or return {};
    return $sim->vmlist();
}

sub rrd_dump {
    my $sim = sim() or return {};
    return PVEBalancerTest::SimCluster::RRD::rrd_dump($sim);
}

sub get_node_kv {
    my ($key, $nodename) = @_;

    my $sim = sim() or return {};
    my $kv = $sim->{kv}->{$key} // {};
    return { $nodename => $kv->{$nodename} } if $nodename && defined($kv->{$nodename});
    return {} if $nodename;
    return { %$kv };
}

# pve-cluster PVE::Cluster::broadcast_node_kv: this node's (the simulated cluster's nodename)
# value of kv/<key>; a reference dies, 32 KiB or more dies (pmxcfs' limit), undef or '' removes
# it (pmxcfs kventry_hash_set drops an entry of length 0). A read-only client (www-data) is
# refused by pmxcfs with EPERM, which the real function only warns about.
sub broadcast_node_kv {
    my ($key, $data) = @_;

    my $sim = sim() or return;
    my $node = $sim->{nodename};
    if (!defined($data) || !length($data)) {
        delete $sim->{kv}->{$key}->{$node};
        return;
    }
    die "cannot send a reference\n" if ref($data);
    die "data for '$key' too big\n" if length($data) >= 32 * 1024;
    if ($sim->{kv_read_only}) {
        warn "ipcc_update_status failed: Operation not permitted\n";
        return;
    }
    $sim->{kv}->{$key}->{$node} = "$data";
    $sim->{kv_broadcasts}++;
    return;
}

sub get_guest_config_properties {
    my ($properties, $vmid) = @_;

    die "properties required" if !defined($properties);
    my $sim = sim() or return {};
    my $res = {};
    for my $id (keys %{ $sim->{guests} }) {
        next if $vmid && $id != $vmid;
        my $conf = $sim->{guests}->{$id}->{config} // {};
        for my $prop (@$properties) {
            $res->{$id}->{$prop} = $conf->{$prop} if defined($conf->{$prop});
        }
    }
    return $res;
}

sub cfs_read_file {
    my ($filename) = @_;

    my $sim = sim() or die "unknown file '$filename'";
    return $sim->cfs_file($filename);
}

sub cfs_lock_domain {
    my ($domainname, $timeout, $code, @param) = @_;

    my $lockid = "domain-$domainname";
    my $sim = sim();
    if ($sim && $sim->{locks_held}->{$lockid}) {
        $@ = "cfs-lock '$lockid' error: got lock request timeout\n";
        return undef;
    }
    push @{ $sim->{lock_log} }, $lockid if $sim;

    my $res = eval { $code->(@param) };
    return undef if $@;
    $@ = undef;
    return $res;
}

sub get_node_fingerprint {
    my ($node) = @_;
    return 'AA:BB:CC';
}

sub remote_node_ip {
    my ($nodename) = @_;
    return "192.0.2.1";
}

sub check_node_exists {
    my ($nodename, $noerr) = @_;

    my $sim = sim();
    return 1 if $sim && $sim->{nodes}->{$nodename};
    return undef if $noerr;
    die "no such cluster node '$nodename'\n";
}

1;
