package PVE::ProcFSTools;

# Test double of pve-common's PVE::ProcFSTools (src/PVE/ProcFSTools.pm): check_process_running() answers from the
# simulated cluster's task table (pid and process start time of the UPID).

use strict;
use warnings;

sub check_process_running {
    my ($pid, $pstart) = @_;

    my $sim = PVEBalancerTest::SimCluster->current() or return undef;
    for my $task (values %{ $sim->{tasks} }) {
        next if $task->{pid} != $pid;
        next if $pstart && $task->{pstart} != $pstart;
        return $task->{running} ? { pid => $pid, starttime => $task->{pstart} } : undef;
    }
    return undef;
}

1;
