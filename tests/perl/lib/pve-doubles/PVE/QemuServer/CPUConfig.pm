package PVE::QemuServer::CPUConfig;

# Test double of qemu-server's PVE::QemuServer::CPUConfig (src/PVE/QemuServer/CPUConfig.pm):
# load_custom_cpu_model_config() returns the parsed /etc/pve/virtual-guest/cpu-models.conf as
# the SectionConfig does ({ids => {name => {type => 'cpu-model', flags, reported-model, ...}}}),
# from the simulated cluster's `cpu-models`; without them, an empty config (the file may not
# exist, and upstream then parses nothing).

use strict;
use warnings;

sub load_custom_cpu_model_config {
    my $sim = PVEBalancerTest::SimCluster->current();
    my $models = ($sim && $sim->{'cpu-models'}) // {};
    my $ids = {};
    for my $id (sort keys %$models) {
        $ids->{$id} = { type => 'cpu-model', %{ $models->{$id} } };
    }
    return { ids => $ids, order => {}, digest => 'ffff' };
}

1;
