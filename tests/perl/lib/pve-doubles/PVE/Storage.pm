package PVE::Storage;

# Test double of pve-storage's PVE::Storage (src/PVE/Storage.pm): storage.cfg access (config, storage_ids,
# storage_config, storage_check_enabled with the 'disable' and 'nodes' restrictions).

use strict;
use warnings;

sub config {
    my $sim = PVEBalancerTest::SimCluster->current() or return { ids => {} };
    return $sim->cfs_file('storage.cfg');
}

sub storage_ids {
    my ($cfg) = @_;
    return keys %{ $cfg->{ids} };
}

sub storage_config {
    my ($cfg, $storeid, $noerr) = @_;

    die "no storage ID specified\n" if !$storeid;
    my $scfg = $cfg->{ids}->{$storeid};
    die "storage '$storeid' does not exist\n" if !$noerr && !$scfg;
    return $scfg;
}

sub storage_check_node {
    my ($cfg, $storeid, $node, $noerr) = @_;

    my $scfg = storage_config($cfg, $storeid);
    if ($scfg->{nodes} && !$scfg->{nodes}->{$node}) {
        die "storage '$storeid' is not available on node '$node'\n" if !$noerr;
        return undef;
    }
    return $scfg;
}

sub storage_check_enabled {
    my ($cfg, $storeid, $node, $noerr) = @_;

    my $scfg = storage_config($cfg, $storeid);
    if ($scfg->{disable}) {
        die "storage '$storeid' is disabled\n" if !$noerr;
        return undef;
    }
    return storage_check_node($cfg, $storeid, $node, $noerr);
}

1;
