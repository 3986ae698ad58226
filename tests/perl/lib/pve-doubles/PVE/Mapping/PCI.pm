package PVE::Mapping::PCI;

# Test double of pve-guest-common's PVE::Mapping::PCI (src/PVE/Mapping/PCI.pm): config() is the
# parsed mapping/pci.cfg, {ids => {ID => {map => ['node=pve1,path=...,id=...', ...],
# 'live-migration-capable' => 1}}}, from the simulated cluster; get_node_mapping returns the
# map entries of one node as the real one does (an empty list where the node has none, undef
# for an unknown id).

use strict;
use warnings;

use Storable ();

sub config {
    my $sim = PVEBalancerTest::SimCluster->current() or die "no cluster\n";
    my $ids = $sim->{mappings}->{pci} // {};
    return { ids => Storable::dclone($ids) };
}

sub get_node_mapping {
    my ($cfg, $id, $nodename) = @_;

    return undef if !defined($cfg->{ids}->{$id});
    my $res = [];
    for my $map (@{ $cfg->{ids}->{$id}->{map} // [] }) {
        my %entry = map { split(/=/, $_, 2) } split(/,/, $map);
        push @$res, \%entry if ($entry{node} // '') eq $nodename;
    }
    return $res;
}

1;
