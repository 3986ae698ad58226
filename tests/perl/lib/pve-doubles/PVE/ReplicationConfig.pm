package PVE::ReplicationConfig;

# Test double of pve-guest-common's PVE::ReplicationConfig (src/PVE/ReplicationConfig.pm):
# new() returns the parsed replication.cfg ({ids => {'100-0' => {type => 'local', guest =>
# 100, target => 'pve2', jobnum => 0, disable => 1?, remove_job => ...}}}) from the simulated
# cluster's 'replication' list; check_for_existing_jobs and find_local_replication_job behave
# like the real ones (disabled jobs count too).

use strict;
use warnings;

sub new {
    my ($type) = @_;

    my $class = ref($type) || $type;
    my $sim = PVEBalancerTest::SimCluster->current() or die "no cluster\n";
    my $ids = {};
    for my $job (@{ $sim->{replication} // [] }) {
        my ($guest, $jobnum) = $job->{id} =~ m/^(\d+)-(\d+)$/ or next;
        $ids->{ $job->{id} } = {
            type => 'local', guest => int($guest), jobnum => int($jobnum), %$job,
        };
        delete $ids->{ $job->{id} }->{id};
    }
    return bless { ids => $ids }, $class;
}

sub check_for_existing_jobs {
    my ($cfg, $vmid, $noerr) = @_;

    for my $id (keys %{ $cfg->{ids} }) {
        next if $cfg->{ids}->{$id}->{guest} != $vmid;
        return 1 if $noerr;
        die "There is a replication job '$id' for guest '$vmid' - Please remove that first.\n";
    }
    return undef;
}

sub find_local_replication_job {
    my ($cfg, $vmid, $target) = @_;

    for my $id (keys %{ $cfg->{ids} }) {
        my $data = $cfg->{ids}->{$id};
        return $data
            if $data->{type} eq 'local' && $data->{guest} == $vmid && $data->{target} eq $target;
    }
    return undef;
}

1;
