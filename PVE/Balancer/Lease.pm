package PVE::Balancer::Lease;

# The cluster-wide run lease (/etc/pve/balancer/active.json): one balance or evacuation run at a
# time in the whole cluster, whether it was started from the API, pvesh or pve-balancerd.
#
# The lease is taken, renewed and released under a short pmxcfs lock ('run'). It names its
# holder (run id, task UPID, node, user, kind), carries a heartbeat, and lists the migrations
# the run has started and not seen end ('in-flight'). It is live while
#
#   - its holder runs: the task is alive where that can be told (this node) and the heartbeat
#     is younger than $stale_after seconds; or
#   - a migration it started still runs, even after the holder ended (cancelled, killed,
#     crashed): the next run must not plan as if that guest had not moved yet.
#
# A lease that is not live is stale; PVE::Balancer::Recovery settles its run record and
# removes it. Everything goes through the PVE::Balancer::Env façade, so this works in a worker
# task, in pve-balancerd (no request, no RPC environment) and in the tests.

use strict;
use warnings;

use JSON;

my $lease_file = 'balancer/active.json';

our $stale_after = 300; # a lease without heartbeat for this long has no live holder
our $lock_timeout = 10;

=head3 read($env)

The lease as stored, or undef if there is none (or it is unreadable).

=cut

sub read {
    my ($env) = @_;

    my $raw = $env->read_cfs_file($lease_file);
    return undef if !defined($raw) || $raw !~ m/\S/;
    my $lease = eval { JSON->new->decode($raw) };
    return ref($lease) eq 'HASH' && $lease->{id} ? $lease : undef;
}

my sub write_lease {
    my ($env, $lease) = @_;

    $env->write_cfs_file($lease_file, JSON->new->canonical->utf8->encode($lease));
}

=head3 holder_alive($env, $lease)

True while the run that took C<$lease> still runs: its task is alive (where that can be told)
and its heartbeat is fresh.

=cut

sub holder_alive {
    my ($env, $lease) = @_;

    return 0 if $lease->{ended};
    if ($lease->{upid}) {
        my $alive = $env->task_alive($lease->{upid});
        return 0 if defined($alive) && !$alive; # its task ended without cleaning up
    }
    return 0 if $env->get_time() - ($lease->{heartbeat} // 0) > $stale_after;
    return 1;
}

=head3 running_migrations($env, $lease)

The in-flight migrations of C<$lease> that still run (see Env::migration_running).

=cut

sub running_migrations {
    my ($env, $lease) = @_;

    my @res;
    for my $m (@{ $lease->{'in-flight'} // [] }) {
        my $running = eval { $env->migration_running($m) };
        # when it cannot be told, count it as running: a wrong "finished" could overload a node
        push @res, $m if $running || $@;
    }
    return \@res;
}

=head3 active($env)

The live lease (see the top of this file), or undef. A lease whose holder ended but whose
migrations still run is returned with C<waiting> (those migrations).

=cut

sub active {
    my ($env) = @_;

    my $lease = PVE::Balancer::Lease::read($env) // return undef;
    return $lease if holder_alive($env, $lease);

    my $running = running_migrations($env, $lease);
    return { %$lease, waiting => $running } if @$running;
    return undef;
}

=head3 describe($lease)

One line naming the holder of C<$lease>, for messages.

=cut

sub describe {
    my ($lease) = @_;

    my $what = $lease->{upid} // $lease->{id};
    my $text = "$what, $lease->{kind} started by $lease->{user} on $lease->{node}";
    if (my $waiting = $lease->{waiting}) {
        $text .= "; its task ended, waiting for " . scalar(@$waiting) . " migration(s) it"
            . " started: " . join(', ', map { "$_->{vmid} $_->{from} -> $_->{to}" } @$waiting);
    }
    return $text;
}

=head3 acquire($env, $lease, $on_stale)

Takes the lease or dies if another run holds a live one. A stale lease is handed to
C<$on_stale-E<gt>($old)> (inside the lock) before it is replaced, so its run can be settled.

=cut

sub acquire {
    my ($env, $lease, $on_stale) = @_;

    $env->cfs_lock(
        'run',
        $lock_timeout,
        sub {
            my $old = PVE::Balancer::Lease::read($env);
            if ($old) {
                if (my $other = active($env)) {
                    die "another balance run is in progress (" . describe($other) . ")\n";
                }
                $on_stale->($old) if $on_stale;
            }
            write_lease($env, { %$lease, heartbeat => $env->get_time(), 'in-flight' => [] });
        },
    );
}

=head3 update($env, $id, %set)

Refreshes the heartbeat of our lease and sets the given fields (for example C<in-flight>, the
migrations started and not seen end). Dies if the lease was taken over.

=cut

sub update {
    my ($env, $id, %set) = @_;

    $env->cfs_lock(
        'run',
        $lock_timeout,
        sub {
            my $lease = PVE::Balancer::Lease::read($env);
            if (!$lease || $lease->{id} ne $id) {
                die "lost the balance run lease" . ($lease ? " to " . describe($lease) : '')
                    . "\n";
            }
            $lease->{$_} = $set{$_} for keys %set;
            $lease->{heartbeat} = $env->get_time();
            write_lease($env, $lease);
        },
    );
}

=head3 release($env, $id)

Gives up our lease (does nothing if it is not ours anymore).

=cut

sub release {
    my ($env, $id) = @_;

    $env->cfs_lock(
        'run',
        $lock_timeout,
        sub {
            my $lease = PVE::Balancer::Lease::read($env);
            return if !$lease || $lease->{id} ne $id;
            $env->delete_cfs_file($lease_file);
        },
    );
}

=head3 clear_stale($env, $on_stale)

Removes a lease that is not live, after handing it to C<$on_stale-E<gt>($old)>. Returns the
removed lease or undef.

=cut

sub clear_stale {
    my ($env, $on_stale) = @_;

    my $removed;
    $env->cfs_lock(
        'run',
        $lock_timeout,
        sub {
            my $old = PVE::Balancer::Lease::read($env) // return;
            return if active($env);
            $on_stale->($old) if $on_stale;
            $env->delete_cfs_file($lease_file);
            $removed = $old;
        },
    );
    return $removed;
}

1;
