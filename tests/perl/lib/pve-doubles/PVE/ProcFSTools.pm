package PVE::ProcFSTools;

# Test double of pve-common's PVE::ProcFSTools (src/PVE/ProcFSTools.pm): check_process_running() answers from the
# simulated cluster's task table (pid and process start time of the UPID); read_cpuinfo()
# answers the local node's /proc/cpuinfo summary from the simulated cluster's `cpuinfo`, with
# upstream's defaults (model 'unknown', flags '') for what it lacks.

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

sub read_cpuinfo {
    my $sim = PVEBalancerTest::SimCluster->current();
    my $info = ($sim && $sim->{cpuinfo}) // {};
    return {
        vendor => 'unknown',
        family => 0,
        model => 'unknown',
        mhz => 0,
        cpus => 1,
        sockets => 1,
        flags => '',
        %$info,
    };
}

1;
