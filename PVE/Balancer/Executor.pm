package PVE::Balancer::Executor;

# Runs a plan (balance or evacuate) on the cluster, step by step and wave by wave:
#
# - one run at a time in the whole cluster: a lease in pmxcfs (balancer/active.json), taken and
#   renewed under a short cluster lock, with a heartbeat so a crashed run does not block the
#   next one for longer than $stale_after seconds;
# - before a migration starts it is checked against fresh state: the guest still exists, is
#   on the expected source and not locked, both nodes are online and the target is not in
#   maintenance, and the engine (place) still finds the target fitting the guest with the
#   migrations already running counted on their targets;
# - migrations of a wave run in parallel within max-parallel and max-parallel-per-node;
# - plain guests move through the qemu-server / pve-container migrate API, HA-managed ones
#   through an HA CRM command, and the run waits until the HA manager reports them on the
#   target;
# - a failed, timed-out or no longer valid migration stops the run once the running
#   migrations are done (on-failure stop), or a new plan is computed from the state at that
#   point (on-failure replan), up to max-replans times;
# - every migration writes one task log line ("migration 3/12: vm 105 pve1 -> pve3 ... OK
#   (14 s)"), the run ends with a before/after summary and is recorded in
#   balancer/runs.json (PVE::Balancer::History).
#
# Everything impure goes through the PVE::Balancer::Env object, so the tests run this code
# against a simulated cluster with a fake clock.

use strict;
use warnings;

use JSON;
use Storable qw(dclone);

use PVE::Balancer::Config;
use PVE::Balancer::History;
use PVE::Balancer::Planner;
use PVE::Balancer::State;

my $lease_file = 'balancer/active.json';

our $stale_after = 300; # a lease without heartbeat for this long is stale
our $heartbeat_interval = 60;
our $poll_interval = 2; # seconds between two looks at the running migrations
our $ha_refuse_grace = 30; # CRM command consumed, but no 'migrate' state after this long

my sub read_json {
    my ($env, $relpath) = @_;

    my $raw = $env->read_cfs_file($relpath);
    return undef if !defined($raw) || $raw !~ m/\S/;
    return eval { JSON->new->decode($raw) };
}

my sub write_json {
    my ($env, $relpath, $data) = @_;

    $env->write_cfs_file($relpath, JSON->new->canonical->utf8->encode($data));
}

=head3 active_run($env)

The lease of the run in progress (C<id>, C<upid>, C<node>, C<user>, C<kind>, C<started>,
C<heartbeat>), or undef if none holds a live lease.

=cut

sub active_run {
    my ($env) = @_;

    my $lease = read_json($env, $lease_file);
    return undef if ref($lease) ne 'HASH' || !$lease->{id};

    if ($lease->{upid}) {
        my $alive = $env->task_alive($lease->{upid});
        return undef if defined($alive) && !$alive; # its task ended without cleaning up
    }
    return undef if $env->get_time() - ($lease->{heartbeat} // 0) > $stale_after;

    return $lease;
}

my sub describe_lease {
    my ($lease) = @_;

    my $what = $lease->{upid} // $lease->{id};
    return "$what, $lease->{kind} started by $lease->{user} on $lease->{node}";
}

=head3 acquire_lease($env, $lease)

Takes the cluster-wide run lease or dies if another run holds a live one.

=cut

sub acquire_lease {
    my ($env, $lease) = @_;

    $env->cfs_lock(
        'run',
        10,
        sub {
            if (my $other = active_run($env)) {
                die "another balance run is in progress (" . describe_lease($other) . ")\n";
            }
            write_json($env, $lease_file, { %$lease, heartbeat => $env->get_time() });
        },
    );
}

=head3 renew_lease($env, $id)

Refreshes the heartbeat of our lease; dies if the lease was taken over.

=cut

sub renew_lease {
    my ($env, $id) = @_;

    $env->cfs_lock(
        'run',
        10,
        sub {
            my $lease = read_json($env, $lease_file);
            if (ref($lease) ne 'HASH' || ($lease->{id} // '') ne $id) {
                die "lost the balance run lease"
                    . (ref($lease) eq 'HASH' && $lease->{id} ? " to " . describe_lease($lease) : '')
                    . "\n";
            }
            $lease->{heartbeat} = $env->get_time();
            write_json($env, $lease_file, $lease);
        },
    );
}

=head3 release_lease($env, $id)

Gives up our lease (does nothing if it is not ours anymore).

=cut

sub release_lease {
    my ($env, $id) = @_;

    $env->cfs_lock(
        'run',
        10,
        sub {
            my $lease = read_json($env, $lease_file);
            return if ref($lease) ne 'HASH' || ($lease->{id} // '') ne $id;
            $env->delete_cfs_file($lease_file);
        },
    );
}

my sub guest_label {
    my ($m) = @_;
    return ($m->{type} eq 'lxc' ? 'ct' : 'vm') . " $m->{vmid}";
}

my sub move_label {
    my ($m, $total) = @_;
    return "migration $m->{number}/$total: " . guest_label($m) . " $m->{from} -> $m->{to}";
}

my sub human_bytes {
    my ($bytes) = @_;

    my @units = ('B', 'KiB', 'MiB', 'GiB', 'TiB');
    my $i = 0;
    while ($bytes >= 1024 && $i < $#units) {
        $bytes /= 1024;
        $i++;
    }
    return $i ? sprintf("%.1f %s", $bytes, $units[$i]) : "$bytes B";
}

my sub ha_sid {
    my ($m) = @_;
    return ($m->{type} eq 'lxc' ? 'ct' : 'vm') . ":$m->{vmid}";
}

# HA resources of a snapshot that the HA manager manages (configured, not ignored).
my sub ha_managed {
    my ($snapshot) = @_;

    my $res = {};
    for my $r (@{ $snapshot->{ha}->{resources} // [] }) {
        next if ($r->{state} // '') eq 'ignored';
        $res->{ $r->{sid} } = 1;
    }
    return $res;
}

# Moves a guest in a (projected) snapshot: the engine then counts it on its target.
my sub project_move {
    my ($snapshot, $vmid, $target) = @_;

    for my $e (@{ $snapshot->{resources} }) {
        next if !defined($e->{vmid}) || $e->{vmid} != $vmid;
        $e->{node} = $target;
        delete $e->{lock};
    }
}

# Why a migration must not start now, or undef if it may. 'already' when the guest is on its
# target (for example moved with an HA affinity partner).
my sub check_step {
    my ($ctx, $m, $projected) = @_;

    my $guests = PVE::Balancer::State::guest_index($projected);
    my $nodes = PVE::Balancer::State::node_index($projected);
    my $ns = $projected->{ha}->{'manager-status'}->{node_status} // {};

    my $g = $guests->{ $m->{vmid} } // return (skip => "guest no longer exists");
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

    if ($ctx->{may_migrate} && !$ctx->{may_migrate}->($m->{vmid})) {
        return (skip => "no VM.Migrate permission on /vms/$m->{vmid}");
    }

    my $place = eval {
        PVE::Balancer::Planner::call_engine('place', $projected, vmid => $m->{vmid});
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

my sub migrate_params {
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

my sub finish_step {
    my ($ctx, $m, $result, $error) = @_;

    my $env = $ctx->{env};
    my $now = $env->get_time();
    my $seconds = defined($m->{started}) ? $now - $m->{started} : 0;
    $m->{result} = $result;
    $m->{seconds} = $seconds;
    $m->{error} = $error if defined($error);

    my $label = move_label($m, $ctx->{total}) . ($m->{ha} ? ' (HA)' : '');
    if ($result eq 'ok') {
        $env->log('info', "$label ... OK ($seconds s)");
    } elsif ($result eq 'already') {
        $env->log('info', "$label ... OK, $error");
    } elsif ($result eq 'skipped') {
        $env->log('warn', "$label ... SKIPPED: $error");
    } elsif ($result eq 'timeout') {
        $env->log('warn', "$label ... TIMEOUT ($seconds s): $error");
    } else {
        $env->log('warn', "$label ... FAILED ($seconds s): $error");
    }

    push @{ $ctx->{record}->{migrations} }, {
        map { $_ => $m->{$_} } grep { defined($m->{$_}) }
            qw(number step wave vmid type name from to mode ha result seconds error upid)
    };
}

my sub start_step {
    my ($ctx, $m, $g, $managed) = @_;

    my $env = $ctx->{env};
    $m->{started} = $env->get_time();
    $m->{ha} = $managed->{ ha_sid($m) } ? 1 : 0;

    my $label = move_label($m, $ctx->{total});
    my $cost = $m->{cost} // {};
    my $info = join(', ', grep { defined } (
        $m->{ha} ? 'through HA' : undef,
        $m->{mode},
        $cost->{bytes} ? human_bytes($cost->{bytes}) : undef,
        defined($cost->{seconds}) ? "estimated $cost->{seconds} s" : undef,
    ));

    eval {
        if ($m->{ha}) {
            $env->ha_migrate(ha_sid($m), $m->{to});
            $m->{queued} = $env->get_time();
        } else {
            my $guest = { vmid => $m->{vmid}, type => $m->{type}, node => $m->{from} };
            $m->{task} = $env->migrate_guest($guest, $m->{to}, migrate_params($ctx, $m, $g));
            $m->{upid} = $m->{task}->{upid};
        }
    };
    if (my $err = $@) {
        chomp $err;
        finish_step($ctx, $m, 'failed', "could not start: $err");
        return 0;
    }
    $env->log('info', "$label: started ($info)");
    return 1;
}

# One look at a running migration: undef while it runs, else (result, error).
my sub poll_step {
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

my sub renew_if_due {
    my ($ctx) = @_;

    my $env = $ctx->{env};
    my $now = $env->get_time();
    return if $now - $ctx->{last_heartbeat} < $heartbeat_interval;
    renew_lease($env, $ctx->{record}->{id});
    $ctx->{last_heartbeat} = $now;
}

# Runs the migrations of one wave. Returns the number of migrations that did not succeed.
my sub run_wave {
    my ($ctx, $wave) = @_;

    my $env = $ctx->{env};
    my @pending = @$wave;
    my @running;
    my $bad = 0;

    while (@pending || @running) {
        my %per_node;
        for my $r (@running) {
            $per_node{ $r->{from} }++;
            $per_node{ $r->{to} }++;
        }
        my @ready = grep {
            ($per_node{ $_->{from} } // 0) < $ctx->{per_node}
                && ($per_node{ $_->{to} } // 0) < $ctx->{per_node}
        } @pending;

        if (@ready && @running < $ctx->{parallel}) {
            my $fresh = PVE::Balancer::Planner::collect($env, $ctx->{cfg}, rrd => 0);
            my $projected = dclone($fresh);
            project_move($projected, $_->{vmid}, $_->{to}) for @running;
            my $managed = ha_managed($fresh);
            my $guests = PVE::Balancer::State::guest_index($fresh);

            for my $m (@ready) {
                last if @running >= $ctx->{parallel};
                next if ($per_node{ $m->{from} } // 0) >= $ctx->{per_node};
                next if ($per_node{ $m->{to} } // 0) >= $ctx->{per_node};
                @pending = grep { $_ != $m } @pending;

                my ($verdict, $why) = check_step($ctx, $m, $projected);
                if ($verdict && $verdict eq 'already') {
                    finish_step($ctx, $m, 'already', $why);
                    next;
                } elsif ($verdict) {
                    finish_step($ctx, $m, 'skipped', $why);
                    $bad++;
                    next;
                }
                if (start_step($ctx, $m, $guests->{ $m->{vmid} }, $managed)) {
                    push @running, $m;
                    project_move($projected, $m->{vmid}, $m->{to});
                    $per_node{ $m->{from} }++;
                    $per_node{ $m->{to} }++;
                } else {
                    $bad++;
                }
            }
            next if !@running;
        }

        last if !@running;

        $env->sleep($poll_interval);
        renew_if_due($ctx);

        my $ha_status;
        if (grep { $_->{ha} } @running) {
            $ha_status = eval { $env->ha_manager_status() } // {};
            $ctx->{ha_pending} = eval { $env->ha_commands_pending() } // 0;
        }

        my @still;
        for my $m (@running) {
            my ($result, $error) = poll_step($ctx, $m, $ha_status);
            if (!$result) {
                push @still, $m;
                next;
            }
            finish_step($ctx, $m, $result, $error);
            $bad++ if $result ne 'ok';
        }
        @running = @still;
    }

    return $bad;
}

my sub metrics_line {
    my ($name, @values) = @_;
    return sprintf("  %-14s%s", $name,
        join('', map { defined($_) ? sprintf("%10.4f", $_) : sprintf("%10s", '-') } @values));
}

my sub log_summary {
    my ($ctx, $after) = @_;

    my $env = $ctx->{env};
    my $rec = $ctx->{record};
    my $before = $rec->{metrics}->{before} // {};
    my $planned = $rec->{metrics}->{planned} // {};
    my $actual = $after ? $after->{metrics} : undef;

    $env->log('info', sprintf(
        "summary: %d of %d migration(s) done, %d failed, %d skipped, %d not started"
            . ", %d re-plan(s), %d s",
        $rec->{moved}, $rec->{planned}, $rec->{failed}, $rec->{skipped}, $rec->{'not-started'},
        $rec->{replans}, $rec->{finished} - $rec->{started},
    ));
    for my $m (@{ $rec->{migrations} }) {
        next if $m->{result} eq 'ok' || $m->{result} eq 'already';
        $env->log('info', "  $m->{result}: " . guest_label($m) . " $m->{from} -> $m->{to}: "
            . ($m->{error} // ''));
    }

    $env->log('info', sprintf("  %-14s%10s%10s%10s", 'metric', 'before', 'planned', 'after'));
    for my $key (qw(imbalance objective)) {
        $env->log('info', metrics_line($key, $before->{$key}, $planned->{$key},
            $actual ? $actual->{$key} : undef));
    }
    for my $res (qw(cpu memory)) {
        for my $stat (qw(max stddev)) {
            $env->log('info', metrics_line("$res $stat", $before->{$res}->{$stat},
                $planned->{$res}->{$stat}, $actual ? $actual->{$res}->{$stat} : undef));
        }
    }

    if ($after) {
        my %before_nodes = map { $_->{node} => $_->{before} } @{ $ctx->{plan_nodes} // [] };
        $env->log('info', sprintf("  %-14s%-20s  %s", 'node', 'cpu before -> after',
            'memory before -> after'));
        for my $n (@{ $after->{nodes} // [] }) {
            my $b = $before_nodes{ $n->{node} } // {};
            my $fmt = sub { defined($_[0]) ? sprintf("%5.1f%%", 100 * $_[0]) : '    -' };
            $env->log('info', sprintf("  %-14s%s -> %s        %s -> %s",
                $n->{node}, $fmt->($b->{cpu}), $fmt->($n->{cpu}->{util}),
                $fmt->($b->{memory}), $fmt->($n->{memory}->{util})));
        }
    }
}

=head3 run($env, $plan, %opts)

Executes C<$plan> (the engine's plan or evacuate result). Options:

=over

=item C<kind>: C<balance> or C<evacuate> (for re-planning and the record)

=item C<args>: the engine arguments the plan was computed with

=item C<cfg>: balancer.cfg as PVE::Balancer::Config::load returns it

=item C<upid>, C<user>: the task and user, for the lease and the record

=item C<on-failure>, C<max-replans>, C<migration-timeout>: override balancer.cfg

=item C<may_migrate>: C<sub ($vmid)> returning false where the user may not migrate
(checked again for migrations that a re-plan adds)

=back

Returns the run record. Dies if another run is active, or at the end if a migration did
not succeed (the task ends with an error), after the record is written.

=cut

sub run {
    my ($env, $plan, %opts) = @_;

    my $cfg = $opts{cfg} // {};
    my $eff = PVE::Balancer::Config::effective($cfg);
    my $args = $opts{args} // {};
    my $kind = $opts{kind} // $plan->{kind} // 'balance';
    $kind = 'balance' if $kind ne 'evacuate';

    my $option = sub {
        my ($key) = @_;
        return $opts{$key} // $args->{$key} // $eff->{$key};
    };

    my $now = $env->get_time();
    my $id = $opts{upid} // sprintf("%s:%d:%d", $env->nodename(), $$, $now);

    my $record = {
        id => $id,
        kind => $kind,
        node => $env->nodename(),
        user => $opts{user} // 'root@pam',
        started => $now,
        status => 'running',
        options => { %$args },
        planned => scalar(@{ $plan->{migrations} // [] }),
        moved => 0,
        failed => 0,
        skipped => 0,
        'not-started' => 0,
        replans => 0,
        digest => $plan->{digest},
        metrics => {
            before => $plan->{metrics}->{before},
            planned => $plan->{metrics}->{after},
        },
        migrations => [],
    };
    $record->{plan} = [];
    for my $m (@{ $plan->{migrations} // [] }) {
        push @{ $record->{plan} },
            { map { $_ => $m->{$_} } grep { defined($m->{$_}) }
                qw(step wave vmid type from to mode) };
    }
    $record->{upid} = $opts{upid} if $opts{upid};
    $record->{nodes} = $plan->{drained} if $plan->{drained};
    $record->{unplaced} = [ map { $_->{vmid} } @{ $plan->{unplaced} // [] } ]
        if @{ $plan->{unplaced} // [] };

    acquire_lease($env, {
        id => $id,
        upid => $opts{upid},
        node => $record->{node},
        user => $record->{user},
        kind => $kind,
        started => $now,
    });

    my $ctx = {
        env => $env,
        cfg => $cfg,
        record => $record,
        total => $record->{planned},
        parallel => $option->('max-parallel'),
        per_node => $option->('max-parallel-per-node'),
        timeout => $option->('migration-timeout'),
        'storage-map' => $option->('storage-map'),
        may_migrate => $opts{may_migrate},
        last_heartbeat => $now,
        plan_nodes => $plan->{nodes},
    };

    my $keep = $eff->{history};
    my $after;

    eval {
        eval { PVE::Balancer::History::record($env, $record, $keep) };
        $env->log('warn', "could not record the run - $@") if $@;

        my $waves = {};
        $waves->{ $_->{wave} // 1 } = 1 for @{ $plan->{migrations} // [] };
        $env->log('info', sprintf("%s plan: %d migration(s) in %d wave(s)%s",
            $kind, $record->{planned}, scalar(keys %$waves),
            $plan->{digest} ? " (digest $plan->{digest})" : ''));
        $env->log('info', "note: $_") for @{ $plan->{notes} // [] };
        for my $u (@{ $plan->{unplaced} // [] }) {
            my $why = join('; ', map { ($_->{node} ? "$_->{node}: " : '') . $_->{message} }
                @{ $u->{reasons} // [] });
            $env->log('warn', "vm $u->{vmid} cannot be placed: $why");
        }

        my @queue = map { { %$_, number => $_->{step} } }
            sort { ($a->{wave} // 1) <=> ($b->{wave} // 1) || $a->{step} <=> $b->{step} }
            @{ $plan->{migrations} // [] };

        my $on_failure = $option->('on-failure');
        my $max_replans = $option->('max-replans');

        while (@queue) {
            my $wave_no = $queue[0]->{wave} // 1;
            my @wave = grep { ($_->{wave} // 1) == $wave_no } @queue;
            @queue = grep { ($_->{wave} // 1) != $wave_no } @queue;

            my $bad = run_wave($ctx, \@wave);

            $record->{moved} = grep { $_->{result} eq 'ok' || $_->{result} eq 'already' }
                @{ $record->{migrations} };
            eval { PVE::Balancer::History::record($env, $record, $keep) };

            next if !$bad;
            last if !@queue && $on_failure ne 'replan';

            if ($on_failure eq 'replan' && $record->{replans} < $max_replans) {
                my $exclude = [ map { $_->{vmid} }
                    grep { $_->{result} ne 'ok' && $_->{result} ne 'already' }
                    @{ $record->{migrations} } ];
                my $replan_args = { %$args };
                if ($kind eq 'balance') {
                    my $budget = ($args->{'max-migrations'} // $eff->{'max-migrations'})
                        - $record->{moved};
                    if ($budget <= 0) {
                        $env->log('info', "re-plan skipped: the migration budget is used up");
                        $record->{'not-started'} += scalar(@queue);
                        @queue = ();
                        last;
                    }
                    $replan_args->{'max-migrations'} = $budget;
                }
                $record->{replans}++;
                my ($new) = eval {
                    PVE::Balancer::Planner::compute($env, $cfg, $kind, $replan_args,
                        exclude => $exclude);
                };
                if (my $err = $@) {
                    chomp $err;
                    $env->log('warn', "re-plan failed: $err");
                    $record->{'not-started'} += scalar(@queue);
                    @queue = ();
                    last;
                }
                my $done = scalar(@{ $record->{migrations} });
                my $count = scalar(@{ $new->{migrations} // [] });
                $ctx->{total} = $done + $count;
                $record->{planned} = $done + $count;
                $env->log('info', "re-plan $record->{replans}/$max_replans from the current"
                    . " state (leaving out " . join(', ', @$exclude) . "): $count migration(s)");
                @queue = map { { %$_, number => $done + $_->{step} } }
                    sort { ($a->{wave} // 1) <=> ($b->{wave} // 1) || $a->{step} <=> $b->{step} }
                    @{ $new->{migrations} // [] };
                # waves of the new plan must not mix with the ones already run
                $_->{wave} = ($_->{wave} // 1) + 1_000_000 * $record->{replans} for @queue;
                next;
            }

            $env->log('info', sprintf("stopping after a failed migration (on-failure %s%s)",
                $on_failure,
                $on_failure eq 'replan' ? ", re-plan limit $max_replans reached" : ''));
            $record->{'not-started'} += scalar(@queue);
            for my $m (sort { $a->{number} <=> $b->{number} } @queue) {
                $env->log('info', move_label($m, $ctx->{total}) . " ... NOT STARTED");
            }
            @queue = ();
        }

        $after = eval {
            my $now_snapshot = PVE::Balancer::Planner::collect($env, $cfg, rrd => 0);
            PVE::Balancer::Planner::call_engine('score', $now_snapshot);
        };
        $env->log('warn', "could not score the cluster after the run - $@") if $@;
    };
    my $err = $@;

    my $migrations = $record->{migrations};
    $record->{moved} = grep { $_->{result} eq 'ok' || $_->{result} eq 'already' } @$migrations;
    $record->{failed} = grep { $_->{result} eq 'failed' || $_->{result} eq 'timeout' } @$migrations;
    $record->{skipped} = grep { $_->{result} eq 'skipped' } @$migrations;
    $record->{finished} = $env->get_time();
    $record->{metrics}->{after} = $after->{metrics} if $after;

    if ($err) {
        chomp $err;
        $record->{status} = 'error';
        $record->{message} = $err;
    } elsif ($record->{failed} || $record->{skipped} || $record->{'not-started'}) {
        $record->{status} = $record->{moved} ? 'partial' : 'failed';
    } else {
        $record->{status} = 'ok';
    }

    eval { log_summary($ctx, $after) } if !$err;
    $env->log('warn', "summary failed: $@") if $@;

    eval { PVE::Balancer::History::record($env, $record, $keep) };
    $env->log('warn', "could not record the run - $@") if $@;
    eval { release_lease($env, $id) };
    $env->log('warn', "could not release the run lease - $@") if $@;

    die "$err\n" if $err;
    if ($record->{status} ne 'ok') {
        my $not = $record->{failed} + $record->{skipped} + $record->{'not-started'};
        die "$not of $record->{planned} migration(s) did not complete"
            . " ($record->{failed} failed, $record->{skipped} skipped,"
            . " $record->{'not-started'} not started)\n";
    }

    return $record;
}

1;
