package PVE::Balancer::Executor::Step;

# One migration of a running plan: whether it may start now (checked against fresh state), how
# it is started (qemu-server / pve-container migrate API, or an HA CRM command), and one look
# at it while it runs. PVE::Balancer::Executor drives the waves; this module knows how a
# single step behaves, the way qemu-server, pve-container and pve-ha-manager do:
#
# - a running VM migrates online (qemu-server refuses it otherwise), a running container by
#   restart migration (pve-container has no live migration);
# - an HA-managed guest moves through the CRM (pve-ha-manager's API checks
#   service_is_ha_managed and check_service_state first, and the CRM moves its
#   positive-affinity partners along); while HA is disarmed in 'ignore' mode it counts as
#   unmanaged and migrates directly, in 'freeze' mode it cannot move at all, and a CRM command
#   would never be processed;
# - a plain migration is a task (UPID) that can be polled and stopped.

use strict;
use warnings;

use PVE::Balancer::Access;
use PVE::Balancer::Executor::Report;
use PVE::Balancer::Planner;
use PVE::Balancer::State;

our $ha_refuse_grace = 30; # CRM command consumed, but no 'migrate' state after this long

=head3 ha_sid($m)

The HA resource id (C<vm:ID>, C<ct:ID>) of a migration's guest.

=cut

sub ha_sid {
    my ($m) = @_;
    return ($m->{type} eq 'lxc' ? 'ct' : 'vm') . ":" . (0 + $m->{vmid});
}

=head3 ha_managed($snapshot)

The HA resource ids that the HA manager manages right now: configured and not C<ignored>, and
none while HA is disarmed with resource mode C<ignore> (pve-ha-manager PVE::HA::Config,
service_check_ha_state).

=cut

sub ha_managed {
    my ($snapshot) = @_;

    my $res = {};
    my $disarm = PVE::Balancer::State::ha_disarm($snapshot);
    return $res if $disarm && ($disarm->{mode} // '') eq 'ignore';
    for my $r (@{ $snapshot->{ha}->{resources} // [] }) {
        next if ($r->{state} // '') eq 'ignored';
        $res->{ $r->{sid} } = 1;
    }
    return $res;
}

=head3 project_move($snapshot, $vmid, $target)

Moves a guest in a (projected) snapshot, so the engine counts it on its target.

=cut

sub project_move {
    my ($snapshot, $vmid, $target) = @_;

    for my $e (@{ $snapshot->{resources} }) {
        next if !defined($e->{vmid}) || $e->{vmid} != $vmid;
        $e->{node} = $target;
        delete $e->{lock};
    }
}

=head3 check($ctx, $m, $projected, $managed)

Why migration C<$m> must not start now: C<(skip =E<gt> reason)>, C<(already =E<gt> reason)>
when the guest is on its target (for example moved along with an HA affinity partner), or an
empty list if it may start. C<$projected> is a fresh snapshot with the running migrations on
their targets.

=cut

sub check {
    my ($ctx, $m, $projected, $managed) = @_;

    my $guests = PVE::Balancer::State::guest_index($projected);
    my $nodes = PVE::Balancer::State::node_index($projected);
    my $ns = $projected->{ha}->{'manager-status'}->{node_status} // {};

    my $g = $guests->{ 0 + $m->{vmid} } // return (skip => "guest no longer exists");
    return (already => "guest is already on $m->{to}") if $g->{node} eq $m->{to};
    return (skip => "guest is on $g->{node}, not on $m->{from}") if $g->{node} ne $m->{from};
    return (skip => "guest is locked ($g->{lock})") if $g->{lock};
    return (skip => "guest is a template") if $g->{template};

    for my $node ($m->{from}, $m->{to}) {
        my $n = $nodes->{$node} // return (skip => "node $node no longer exists");
        return (skip => "node $node is $n->{status}") if $n->{status} ne 'online';
    }
    return (skip => "target node $m->{to} is in maintenance")
        if ($ns->{ $m->{to} } // '') eq 'maintenance';

    my $sid = ha_sid($m);
    if ($managed->{$sid}) {
        my $disarm = PVE::Balancer::State::ha_disarm($projected);
        if ($disarm) {
            return (skip => "HA is disarmed (resource mode $disarm->{mode}, $disarm->{state}):"
                . " the HA manager moves no guest until HA is armed again");
        }
        my $sd = $projected->{ha}->{'manager-status'}->{service_status}->{$sid} // {};
        my $state = $sd->{state} // '';
        return (skip => "HA service $sid is in error state (disable and fix it first)")
            if $state eq 'error';
    }

    if (my $may = $ctx->{may_migrate}) {
        my $partners = PVE::Balancer::Access::affinity_groups($projected)->{ 0 + $m->{vmid} };
        my @moved = $managed->{$sid} && $partners ? @$partners : (0 + $m->{vmid});
        for my $vmid (@moved) {
            return (skip => "no VM.Migrate permission on /vms/$vmid"
                . ($vmid != $m->{vmid} ? " (HA affinity partner that moves along)" : ''))
                if !$may->($vmid);
        }
    }

    my $place = eval {
        PVE::Balancer::Planner::call_engine('place', $projected, vmid => 0 + $m->{vmid});
    };
    if (my $err = $@) {
        chomp $err;
        return (skip => "engine check failed: $err");
    }
    my ($target) = grep { $_->{node} eq $m->{to} } @{ $place->{nodes} // [] };
    return (skip => "engine does not know target $m->{to}") if !$target;
    if (!$target->{fits}) {
        my $reason = $target->{reason} // {};
        return (skip => "target $m->{to} no longer fits: "
            . ($reason->{message} // $reason->{constraint} // 'rejected'));
    }

    return ();
}

=head3 params($ctx, $m, $g)

The migrate API parameters of C<$m> for guest entry C<$g>: C<online> for a running VM,
C<restart> (with a shutdown timeout) for a running container, local disks and the storage
map.

=cut

sub params {
    my ($ctx, $m, $g) = @_;

    my $running = ($g->{status} // '') eq 'running' || ($g->{status} // '') eq 'paused';
    my $params = {};
    my $map = $ctx->{'storage-map'};
    if ($m->{type} eq 'qemu') {
        $params->{online} = 1 if $running;
        if ($m->{'with-local-disks'}) {
            $params->{'with-local-disks'} = 1;
            $params->{targetstorage} = $map =~ s/;/,/gr if $map;
        }
    } else {
        if ($running) {
            $params->{restart} = 1;
            $params->{timeout} = 180;
        }
        $params->{'target-storage'} = $map =~ s/;/,/gr if $map && $m->{'with-local-disks'};
    }
    return $params;
}

=head3 start($ctx, $m, $g, $managed)

Starts migration C<$m>. Returns true if it runs; on failure the step is finished as failed.

=cut

sub start {
    my ($ctx, $m, $g, $managed) = @_;

    my $env = $ctx->{env};
    $m->{started} = $env->get_time();
    $m->{ha} = $managed->{ ha_sid($m) } ? 1 : 0;

    eval {
        if ($m->{ha}) {
            $env->ha_migrate(ha_sid($m), $m->{to});
            $m->{queued} = $env->get_time();
        } else {
            my $guest = { vmid => 0 + $m->{vmid}, type => $m->{type}, node => $m->{from} };
            $m->{task} = $env->migrate_guest($guest, $m->{to}, params($ctx, $m, $g));
            $m->{upid} = $m->{task}->{upid};
            $m->{'task-node'} = $m->{task}->{node};
        }
    };
    if (my $err = $@) {
        chomp $err;
        delete $ctx->{running}->{ $m->{number} } if $ctx->{running};
        PVE::Balancer::Executor::Report::finish_step($ctx, $m, 'failed', "could not start: $err");
        return 0;
    }
    PVE::Balancer::Executor::Report::started($ctx, $m);
    return 1;
}

=head3 poll($ctx, $m, $ha_status)

One look at a running migration: an empty list while it runs, else C<(result, error)>. A
migration that runs longer than the timeout is stopped (plain) or given up (HA).

=cut

sub poll {
    my ($ctx, $m, $ha_status) = @_;

    my $env = $ctx->{env};
    my $now = $env->get_time();

    if ($m->{ha}) {
        my $sd = $ha_status->{service_status}->{ ha_sid($m) };
        return ('failed', "no longer managed by HA") if !$sd;
        my ($state, $node) = $sd->@{qw(state node)};
        $state //= '';
        $node //= '';
        my $moving = grep { $state eq $_ } qw(migrate relocate request_start_balance);
        $m->{seen_moving} = 1 if $moving;
        return ('ok') if $node eq $m->{to} && !$moving;
        return ('failed', "HA service state is '$state'")
            if grep { $state eq $_ } qw(error fence recovery freeze);
        if (!$moving && $node eq $m->{from}) {
            return ('failed', "the HA manager did not complete the migration (see the HA log)")
                if $m->{seen_moving};
            if ($ctx->{ha_pending}) {
                $m->{queued} = $now; # command still waiting for the CRM
            } elsif ($now - $m->{queued} >= $ha_refuse_grace) {
                return ('failed', "the HA manager did not start the migration (refused?"
                    . " see the CRM log)");
            }
        }
        return ('timeout', "the HA manager has not finished the migration")
            if $now - $m->{started} >= $ctx->{timeout};
        return ();
    }

    my $st = eval { $env->task_status($m->{task}) };
    if (my $err = $@) {
        chomp $err;
        $m->{status_errors}++;
        return ('failed', "lost track of task $m->{upid}: $err") if $m->{status_errors} >= 5;
        return ();
    }
    $m->{status_errors} = 0;
    if (!$st->{running}) {
        my $exit = $st->{exitstatus} // 'unknown';
        return ('ok') if $exit eq 'OK' || $exit =~ m/^WARNINGS: \d+$/;
        return ('failed', $exit);
    }
    if ($now - $m->{started} >= $ctx->{timeout}) {
        eval { $env->stop_task($m->{task}) };
        return ('timeout', "migration took longer than $ctx->{timeout} s, task stopped");
    }
    return ();
}

=head3 in_flight_entry($m)

What the lease keeps of a running migration, so the next run or the status call can tell
whether it still runs (PVE::Balancer::Lease, PVE::Balancer::Recovery).

=cut

sub in_flight_entry {
    my ($m) = @_;

    my $e = { map { $_ => $m->{$_} } grep { defined($m->{$_}) }
        qw(type from to upid task-node started) };
    $e->{vmid} = 0 + $m->{vmid};
    $e->{ha} = $m->{ha} ? 1 : 0;
    $e->{number} = 0 + $m->{number};
    return $e;
}

1;
