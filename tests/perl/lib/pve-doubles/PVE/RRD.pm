package PVE::RRD;

# Test double of pve-cluster's PVE::RRD (src/PVE/RRD.pm): create_rrd_data() returns the simulated history of
# an RRD ("pve-vm-9.0/100", "pve-node-9.0/pve1", ...).

use strict;
use warnings;

sub create_rrd_data {
    my ($rrdname, $timeframe, $cf) = @_;

    my $sim = PVEBalancerTest::SimCluster->current() or return [];
    my $data = $sim->{rrddata}->{$rrdname}
        // PVEBalancerTest::SimCluster::RRD::synth_rrd($sim, $rrdname)
        // die "RRD error: opening '$rrdname': No such file\n";
    return [map { {%$_} } @$data];
}

1;
