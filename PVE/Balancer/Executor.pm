package PVE::Balancer::Executor;

# Runs a plan (balance or evacuate) on the cluster, wave by wave:
#
# - one run at a time in the whole cluster: PVE::Balancer::Lease, which also lists the
#   migrations this run has started and not seen end;
# - before a migration starts it is checked against fresh state, and migrations of a wave run
#   in parallel within max-parallel and max-parallel-per-node (PVE::Balancer::Executor::Step);
# - a failed, timed-out or no longer valid migration stops the run once the running
#   migrations are done (on-failure stop), or a new plan is computed from the state at that
#   point (on-failure replan), up to max-replans times;
# - a cancel (SIGINT/SIGTERM/SIGQUIT: the task is stopped) starts no further migration, waits
#   for the running ones and records how each ended; if the task is killed before that, the
#   lease keeps naming them until they end and PVE::Balancer::Recovery settles the record;
# - every step writes one task log line and the record in balancer/runs.json after every
#   change (PVE::Balancer::Executor::Report).
#
# Nothing here needs a request or an RPC environment: everything impure goes through the
# PVE::Balancer::Env object, so pve-balancerd's cycle (collect, decide, plan, execute, record)
# calls run() the same way the API worker does, and the tests run it against a simulated
# cluster with a fake clock.

use strict;
use warnings;

use Storable qw(dclone);

use PVE::Balancer::Config;
use PVE::Balancer::Executor::Report;
use PVE::Balancer::Executor::Step;
use PVE::Balancer::History;
use PVE::Balancer::Lease;
use PVE::Balancer::Planner;
use PVE::Balancer::Recovery;
use PVE::Balancer::State;

our $heartbeat_interval = 60;
our $poll_interval = 2; # seconds between two looks at the running migrations

my sub running_list {
    my ($ctx) = @_;
    return [map { $ctx->{running}->{$_} } sort { $a <=> $b } keys %{ $ctx->{running} }];
}

# Writes the lease with the migrations in flight (and refreshes its heartbeat).
my sub track {
    my ($ctx) = @_;

    my $env = $ctx->{env};
    my $inflight = [map { PVE::Balancer::Executor::Step::in_flight_entry($_) }
        @{ running_list($ctx) }];
    eval {
        PVE::Balancer::Lease::update($env, $ctx->{record}->{id}, 'in-flight' => $inflight,
            $ctx->{cancel} ? (cancelled => $ctx->{cancelled_at}) : ());
    };
    if (my $err = $@) {
        chomp $err;
        $env->log('warn', "could not update the run lease - $err");
    }
    $ctx->{last_heartbeat} = $env->get_time();
}

my sub renew_if_due {
    my ($ctx) = @_;

    my $now = $ctx->{env}->get_time();
    track($ctx) if $now - $ctx->{last_heartbeat} >= $heartbeat_interval;
}

# The caller's reason to start nothing more (pve-balancerd's cycle: quorum lost, deadline,
# balancing window closed), asked before a wave and before further migrations start; it counts
# as a cancel with that reason.
my sub check_stop {
    my ($ctx) = @_;

    return if $ctx->{cancel} || !$ctx->{stop};
    my $why = eval { $ctx->{stop}->() };
    if (my $err = $@) {
        chomp $err;
        $why = "stop check failed: $err";
    }
    $ctx->{cancel} = $why if defined($why) && length($why);
}

my sub not_started {
    my ($ctx, $steps, $why) = @_;

    for my $m (sort { $a->{number} <=> $b->{number} } @$steps) {
        PVE::Balancer::Executor::Report::finish_step($ctx, $m, 'not-started', $why);
    }
}

# The first time a cancel is seen: say so, and record it.
my sub note_cancel {
    my ($ctx) = @_;

    return if !$ctx->{cancel} || $ctx->{cancel_noted};
    $ctx->{cancel_noted} = 1;
    my $env = $ctx->{env};
    $ctx->{cancelled_at} = $env->get_time();
    my $n = scalar(keys %{ $ctx->{running} });
    $env->log('warn', "$ctx->{cancel}: starting no further migration"
        . ($n ? "; waiting for $n running migration(s) to end (stop their own tasks to abort"
            . " them)" : ''));
    $ctx->{record}->{status} = 'cancelling';
    $ctx->{record}->{cancelled} = $ctx->{cancelled_at};
    # the waves not reached yet will not start: record that now, the task may be killed soon
    not_started($ctx, $ctx->{queue}, 'run cancelled');
    $ctx->{queue} = [];
    track($ctx);
    PVE::Balancer::Executor::Report::save($ctx);
}

# Runs the migrations of one wave. Returns the number of migrations that did not succeed.
my sub run_wave {
    my ($ctx, $wave) = @_;

    my $env = $ctx->{env};
    my @pending = @$wave;
    my $bad = 0;

    while (@pending || %{ $ctx->{running} }) {
        check_stop($ctx) if @pending;
        if ($ctx->{cancel}) {
            note_cancel($ctx);
            not_started($ctx, \@pending, 'run cancelled');
            @pending = ();
        }

        my @running = @{ running_list($ctx) };
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
            PVE::Balancer::Executor::Step::project_move($projected, $_->{vmid}, $_->{to})
                for @running;
            my $managed = PVE::Balancer::Executor::Step::ha_managed($fresh);
            my $guests = PVE::Balancer::State::guest_index($fresh);

            for my $m (@ready) {
                last if scalar(keys %{ $ctx->{running} }) >= $ctx->{parallel};
                last if $ctx->{cancel};
                next if ($per_node{ $m->{from} } // 0) >= $ctx->{per_node};
                next if ($per_node{ $m->{to} } // 0) >= $ctx->{per_node};
                @pending = grep { $_ != $m } @pending;

                my ($verdict, $why) =
                    PVE::Balancer::Executor::Step::check($ctx, $m, $projected, $managed);
                if ($verdict && $verdict eq 'already') {
                    PVE::Balancer::Executor::Report::finish_step($ctx, $m, 'already', $why);
                    next;
                } elsif ($verdict) {
                    PVE::Balancer::Executor::Report::finish_step($ctx, $m, 'skipped', $why);
                    $bad++;
                    next;
                }
                $ctx->{running}->{ $m->{number} } = $m;
                if (PVE::Balancer::Executor::Step::start($ctx, $m, $guests->{ 0 + $m->{vmid} },
                    $managed)) {
                    PVE::Balancer::Executor::Step::project_move($projected, $m->{vmid}, $m->{to});
                    $per_node{ $m->{from} }++;
                    $per_node{ $m->{to} }++;
                } else {
                    delete $ctx->{running}->{ $m->{number} };
                    $bad++;
                }
            }
            next if !%{ $ctx->{running} } && @pending && !$ctx->{cancel};
        }

        last if !%{ $ctx->{running} } && (!@pending || $ctx->{cancel});
        next if !%{ $ctx->{running} };

        $env->sleep($poll_interval);
        renew_if_due($ctx);

        my $ha_status;
        @running = @{ running_list($ctx) };
        if (grep { $_->{ha} } @running) {
            $ha_status = eval { $env->ha_manager_status() } // {};
            $ctx->{ha_pending} = eval { $env->ha_commands_pending() } // 0;
        }

        for my $m (@running) {
            my ($result, $error) = PVE::Balancer::Executor::Step::poll($ctx, $m, $ha_status);
            next if !$result;
            delete $ctx->{running}->{ $m->{number} };
            PVE::Balancer::Executor::Report::finish_step($ctx, $m, $result, $error);
            $bad++ if $result ne 'ok';
        }
    }

    return $bad;
}

my sub ordered {
    my ($migrations, $first_number) = @_;

    return [
        map { { %$_, number => $first_number + $_->{step} } }
        sort { ($a->{wave} // 1) <=> ($b->{wave} // 1) || $a->{step} <=> $b->{step} }
        @$migrations
    ];
}

# Computes a new plan from the current state; returns the new queue or undef.
my sub replan {
    my ($ctx, $queue) = @_;

    my $env = $ctx->{env};
    my $record = $ctx->{record};
    my $args = $ctx->{args};

    my $exclude = [map { 0 + $_->{vmid} }
        grep { $_->{result} ne 'ok' && $_->{result} ne 'already' && $_->{result} ne 'pending' }
        @{ $record->{migrations} }];
    my $replan_args = {%$args};
    my $done = grep { $_->{result} ne 'pending' } @{ $record->{migrations} };
    if ($ctx->{kind} eq 'balance') {
        PVE::Balancer::History::count($record);
        my $budget = ($args->{'max-migrations'} // $ctx->{eff}->{'max-migrations'})
            - $record->{moved};
        if ($budget <= 0) {
            $env->log('info', "re-plan skipped: the migration budget is used up");
            return undef;
        }
        $replan_args->{'max-migrations'} = $budget;
    }
    $record->{replans}++;
    my ($new) = eval {
        PVE::Balancer::Planner::compute($env, $ctx->{cfg}, $ctx->{kind}, $replan_args,
            exclude => $exclude);
    };
    if (my $err = $@) {
        chomp $err;
        $env->log('warn', "re-plan failed: $err");
        return undef;
    }

    # the rest of the old plan is replaced by the new one
    $record->{migrations} = [grep { $_->{result} ne 'pending' } @{ $record->{migrations} }];
    my $count = scalar(@{ $new->{migrations} // [] });
    my $new_queue = ordered($new->{migrations} // [], $done);
    # waves of the new plan must not mix with the ones already run
    $_->{wave} = ($_->{wave} // 1) + 1_000_000 * $record->{replans} for @$new_queue;
    push @{ $record->{migrations} }, map { PVE::Balancer::Executor::Report::entry($_) }
        @$new_queue;
    $ctx->{total} = $done + $count;
    $env->log('info', "re-plan $record->{replans}/$ctx->{max_replans} from the current"
        . " state (leaving out " . join(', ', @$exclude) . "): $count migration(s)");
    PVE::Balancer::Executor::Report::save($ctx);
    return $new_queue;
}

=head3 run($env, $plan, %opts)

Executes C<$plan> (the engine's plan or evacuate result). Options:

=over

=item C<kind>: C<balance> or C<evacuate> (for re-planning and the record)

=item C<args>: the engine arguments the plan was computed with

=item C<cfg>: balancer.cfg as PVE::Balancer::Config::load returns it (refused if it has
errors)

=item C<upid>, C<user>: the task and user, for the lease and the record

=item C<on-failure>, C<max-replans>, C<migration-timeout>, C<max-parallel>,
C<max-parallel-per-node>, C<storage-map>: override balancer.cfg

=item C<may_migrate>: C<sub ($vmid)> returning false where the user may not migrate
(checked for every step, its HA affinity partners and the steps a re-plan adds)

=item C<stop>: C<sub ()> returning a reason to start nothing more (or undef), asked before
every wave and before further migrations start; a reason counts as a cancel

=item C<id>: the run id when there is no task (default: node, pid and time)

=item C<record>: extra fields for the run record (for example C<trigger>)

=item C<result>: a scalar reference that gets the run record, also when run() dies (pmxcfs
may not have taken the last write: without quorum it is read-only)

=back

Returns the run record. Dies if another run is active, or at the end if a migration did not
succeed or the run was cancelled (the task ends with an error), after the record is written.

=cut

sub run {
    my ($env, $plan, %opts) = @_;

    my $cfg = $opts{cfg} // PVE::Balancer::Config::empty();
    PVE::Balancer::Config::check_applicable($cfg);
    my $eff = PVE::Balancer::Config::effective($cfg);
    my $args = $opts{args} // {};
    my $kind = $opts{kind} // $plan->{kind} // 'balance';
    $kind = 'balance' if $kind ne 'evacuate';

    my $option = sub {
        my ($key) = @_;
        return $opts{$key} // $args->{$key} // $eff->{$key};
    };

    my $now = $env->get_time();
    my $id = $opts{upid} // $opts{id} // sprintf("%s:%d:%d", $env->nodename(), $$, $now);
    my $keep = $eff->{history};

    # runs that died before finishing their record are settled first (and their lease freed)
    eval { PVE::Balancer::Recovery::reconcile($env, keep => $keep) };
    $env->log('warn', "could not settle earlier runs - $@") if $@;

    my $queue = ordered($plan->{migrations} // [], 0);
    my $record = PVE::Balancer::Executor::Report::new_record($env, $plan,
        id => $id, kind => $kind, user => $opts{user}, upid => $opts{upid}, args => $args,
        queue => $queue);
    my $extra = $opts{record} // {};
    $record->{$_} = $extra->{$_} for keys %$extra;
    ${ $opts{result} } = $record if ref($opts{result}) eq 'SCALAR';

    PVE::Balancer::Lease::acquire(
        $env,
        {
            id => $id,
            upid => $opts{upid},
            node => $record->{node},
            user => $record->{user},
            kind => $kind,
            started => $now,
        },
        sub {
            my ($old) = @_;
            my $run = PVE::Balancer::History::find($env, $old->{id}) or return;
            PVE::Balancer::Recovery::settle($env, $run);
            PVE::Balancer::History::record($env, $run, $keep);
        },
    );

    my $ctx = {
        env => $env,
        cfg => $cfg,
        eff => $eff,
        args => $args,
        kind => $kind,
        record => $record,
        keep => $keep,
        total => $record->{planned},
        parallel => $option->('max-parallel'),
        per_node => $option->('max-parallel-per-node'),
        timeout => $option->('migration-timeout'),
        'storage-map' => $option->('storage-map'),
        max_replans => $option->('max-replans'),
        may_migrate => $opts{may_migrate},
        stop => $opts{stop},
        last_heartbeat => $now,
        plan_nodes => $plan->{nodes},
        running => {},
        queue => $queue,
    };
    $ctx->{track} = sub { track($ctx) };

    # A stopped task gets SIGTERM (pvedaemon: SIGKILL 5 s later), Ctrl-C in pvesh SIGINT: note
    # it and act on it between two looks at the cluster, never in the middle of a write.
    local $SIG{INT} = local $SIG{TERM} = local $SIG{QUIT} = sub {
        $ctx->{cancel} //= 'received interrupt';
    };

    my $after;
    my $err;
    {
        local $@;
        eval {
            PVE::Balancer::Executor::Report::save($ctx);

            my $waves = {};
            $waves->{ $_->{wave} // 1 } = 1 for @{ $ctx->{queue} };
            $env->log('info', sprintf("%s plan: %d migration(s) in %d wave(s)%s",
                $kind, $record->{planned}, scalar(keys %$waves),
                $plan->{digest} ? " (digest $plan->{digest})" : ''));
            $env->log('info', "note: $_") for @{ $plan->{notes} // [] };
            for my $u (@{ $plan->{unplaced} // [] }) {
                my $why = join('; ', map { ($_->{node} ? "$_->{node}: " : '') . $_->{message} }
                    @{ $u->{reasons} // [] });
                $env->log('warn', "vm $u->{vmid} cannot be placed: $why");
            }

            my $on_failure = $option->('on-failure');

            while (@{ $ctx->{queue} }) {
                check_stop($ctx);
                if ($ctx->{cancel}) {
                    note_cancel($ctx);
                    last;
                }
                my $wave_no = $ctx->{queue}->[0]->{wave} // 1;
                my @wave = grep { ($_->{wave} // 1) == $wave_no } @{ $ctx->{queue} };
                $ctx->{queue} = [grep { ($_->{wave} // 1) != $wave_no } @{ $ctx->{queue} }];

                my $bad = run_wave($ctx, \@wave);

                next if !$bad || $ctx->{cancel};
                last if !@{ $ctx->{queue} } && $on_failure ne 'replan';

                if ($on_failure eq 'replan' && $record->{replans} < $ctx->{max_replans}) {
                    my $new = replan($ctx, $ctx->{queue});
                    if ($new) {
                        $ctx->{queue} = $new;
                        next;
                    }
                    not_started($ctx, $ctx->{queue}, 'no new plan');
                    $ctx->{queue} = [];
                    last;
                }

                $env->log('info', sprintf("stopping after a failed migration (on-failure %s%s)",
                    $on_failure,
                    $on_failure eq 'replan'
                        ? ", re-plan limit $ctx->{max_replans} reached" : ''));
                not_started($ctx, $ctx->{queue}, 'run stopped after a failure');
                $ctx->{queue} = [];
            }
            note_cancel($ctx) if $ctx->{cancel};

            $after = eval {
                my $now_snapshot = PVE::Balancer::Planner::collect($env, $cfg, rrd => 0);
                PVE::Balancer::Planner::call_engine('score', $now_snapshot);
            };
            if (my $score_err = $@) {
                chomp $score_err;
                $env->log('warn', "could not score the cluster after the run - $score_err");
            }
        };
        $err = $@;
    }

    # an unexpected error: migrations that still run are waited for, never abandoned
    if ($err && %{ $ctx->{running} }) {
        chomp(my $msg = $err);
        $env->log('warn', "error: $msg - waiting for the running migrations");
        eval { run_wave($ctx, []) };
    }

    PVE::Balancer::History::count($record);
    $record->{finished} = $env->get_time();
    $record->{metrics}->{after} = $after->{metrics} if $after;

    if ($err) {
        chomp $err;
        $record->{status} = 'error';
        $record->{message} = $err;
    } elsif ($ctx->{cancel}) {
        $record->{status} = 'cancelled';
        $record->{message} = "cancelled ($ctx->{cancel})";
    } elsif ($record->{failed} || $record->{skipped} || $record->{'not-started'}) {
        $record->{status} = $record->{moved} ? 'partial' : 'failed';
    } else {
        $record->{status} = 'ok';
    }

    if (!$err) {
        eval { PVE::Balancer::Executor::Report::log_summary($ctx, $after) };
        if (my $summary_err = $@) {
            chomp $summary_err;
            $env->log('warn', "summary failed: $summary_err");
        }
    }

    PVE::Balancer::Executor::Report::save($ctx);
    eval { PVE::Balancer::Lease::release($env, $id) };
    if (my $release_err = $@) {
        chomp $release_err;
        $env->log('warn', "could not release the run lease - $release_err");
    }

    die "$err\n" if $err;
    my $not = $record->{failed} + $record->{skipped} + $record->{'not-started'};
    if ($ctx->{cancel}) {
        die "$ctx->{cancel}: run cancelled, $record->{moved} of $record->{planned}"
            . " migration(s) done, $record->{'not-started'} not started\n";
    }
    if ($record->{status} ne 'ok') {
        die "$not of $record->{planned} migration(s) did not complete"
            . " ($record->{failed} failed, $record->{skipped} skipped,"
            . " $record->{'not-started'} not started)\n";
    }

    return $record;
}

1;
