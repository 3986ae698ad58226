package PVE::Balancer::Recovery;

# Settles runs that ended without finishing their record: the task was killed (stopped from
# the GUI: pvedaemon sends SIGTERM and, 5 seconds later, SIGKILL), its node crashed or lost
# quorum. Their record still says 'running' or 'cancelling', and migrations they started may
# still be running or have finished since.
#
# reconcile() looks at the cluster's real state for every such migration: still running (the
# run's lease stays live until it ends, see PVE::Balancer::Lease), arrived on its target (ok),
# or back or still on its source (failed: interrupted). Steps that never started become
# 'not-started'. The run becomes 'cancelled' (it was cancelled) or 'interrupted' (it died).
# GET /cluster/balance and every new run call it.

use strict;
use warnings;

use JSON;

use PVE::Balancer::History;
use PVE::Balancer::Lease;

my sub guest_node {
    my ($env, $vmid) = @_;

    my $nodes = $env->guest_nodes();
    return $nodes->{$vmid};
}

# The outcome of a migration whose run ended while it ran: undef while it still runs, else
# (result, error).
my sub outcome {
    my ($env, $m) = @_;

    my $running = eval { $env->migration_running($m) };
    return () if $running || $@;

    my $node = guest_node($env, $m->{vmid}) // '';
    return ('ok') if $node eq $m->{to};

    my $why = "the run ended while it ran";
    if (!$m->{ha} && $m->{upid}) {
        my $st = eval { $env->task_status({ upid => $m->{upid}, node => $m->{'task-node'} }) };
        $why = "task ended: $st->{exitstatus}" if $st && !$st->{running} && $st->{exitstatus};
    }
    return ('failed', "$why; the guest is on " . ($node || 'no node'));
}

=head3 settle($env, $run)

Settles the record C<$run> of a run that no longer runs (see the top of this file). Changes it
in place; returns true if it is final (no migration left running).

=cut

sub settle {
    my ($env, $run) = @_;

    my $left = 0;
    for my $m (@{ $run->{migrations} // [] }) {
        my $result = $m->{result} // 'pending';
        if ($result eq 'pending') {
            $m->{result} = 'not-started';
            next;
        }
        next if $result ne 'running';
        my ($res, $error) = outcome($env, $m);
        if (!$res) {
            $left++;
            next;
        }
        $m->{result} = $res;
        $m->{error} = $error if defined($error);
        $m->{note} = 'settled after the run ended';
        $m->{seconds} //= $env->get_time() - ($m->{started} // $env->get_time());
    }
    PVE::Balancer::History::count($run);
    return 0 if $left;

    my $status = $run->{status} // 'running';
    if ($status eq 'cancelling') {
        $run->{status} = 'cancelled';
    } elsif ($status eq 'running') {
        $run->{status} = 'interrupted';
        $run->{message} //= 'the run ended without finishing its record (task killed or node'
            . ' lost); its migrations were settled from the cluster state';
    }
    $run->{finished} //= $env->get_time();
    return 1;
}

=head3 reconcile($env, %opts)

Settles every recorded run that is not live anymore and removes a stale lease. C<keep> is the
history length. Returns the number of runs changed.

=cut

sub reconcile {
    my ($env, %opts) = @_;

    my $live = PVE::Balancer::Lease::active($env);
    my $changed = 0;
    for my $run (@{ PVE::Balancer::History::read_runs($env) }) {
        my $status = $run->{status} // '';
        next if $status ne 'running' && $status ne 'cancelling';
        next if $live && $live->{id} eq ($run->{id} // '') && !$live->{waiting};
        my $before = JSON->new->canonical->encode($run);
        my $final = settle($env, $run);
        next if JSON->new->canonical->encode($run) eq $before;
        PVE::Balancer::History::record($env, $run, $opts{keep});
        $changed++;
    }
    PVE::Balancer::Lease::clear_stale($env) if !$live;
    return $changed;
}

1;
