package PVE::Balancer::Manager;

# The one home of a balancing cycle: collect -> decide whether to act -> plan -> execute ->
# record (a MAPE-K loop: monitor, analyse, plan, execute over the knowledge of
# PVE::Balancer::Manager::Knowledge). Two callers:
#
#   - the API (PVE::API2::Balancer): plan() for a dry run, apply() in its worker task; a
#     person decided, so nothing is held back (the run still takes the lease, is recorded,
#     notified, and a balance run starts the cooldown of the guests it moved);
#   - pve-balancerd's cycle command (/usr/share/pve-balancer/pve-balancer-cycle, main()):
#     cycle() decides on its own, with the rules against thrashing
#     (PVE::Balancer::Manager::Rules), the balancing windows (PVE::Balancer::Window), backups
#     (PVE::Balancer::Backup) and Proxmox's own HA balancing (PVE::Balancer::Planner), and
#     keeps the daemon's contract (docs/daemon.md): SIGTERM cancels (the migrations in flight
#     finish and are recorded, nothing new starts), nothing happens without quorum, the
#     deadline is kept, and the exit code says 0 done, 75 skipped, 1 failed.
#
# Everything impure goes through the PVE::Balancer::Env object, so the same code runs on a
# node, in the tests and in the simulator (PVE::Balancer::Sim).

use strict;
use warnings;

use List::Util qw(max min);
use Storable qw(dclone);

use PVE::Balancer::Backup;
use PVE::Balancer::Config;
use PVE::Balancer::Executor;
use PVE::Balancer::History;
use PVE::Balancer::Lease;
use PVE::Balancer::Manager::Capacity;
use PVE::Balancer::Manager::Knowledge;
use PVE::Balancer::Manager::Rules;
use PVE::Balancer::Notify;
use PVE::Balancer::Planner;
use PVE::Balancer::Recovery;
use PVE::Balancer::State;
use PVE::Balancer::Window;

use constant {
    EXIT_OK => 0,
    EXIT_FAILED => 1,
    EXIT_SKIPPED => 75, # EX_TEMPFAIL: nothing could be done now (docs/daemon.md)
};

=head3 new($class, $env, %opts)

A manager on the environment C<$env>. C<cfg>: balancer.cfg as PVE::Balancer::Config::load
returns it (read now if not given). For cycles: C<id>, C<trigger> (C<interval>, C<pressure>,
C<config>, comma-separated; C<manual> when started by hand), C<detail>, C<deadline> (epoch
seconds by which the cycle must be done).

=cut

sub new {
    my ($class, $env, %opts) = @_;

    my $self = bless {
        env => $env,
        cfg => $opts{cfg} // PVE::Balancer::Config::load($env),
        id => $opts{id},
        trigger => $opts{trigger} // 'manual',
        detail => $opts{detail},
        deadline => $opts{deadline},
    }, $class;
    return $self;
}

=head3 cfg()

The configuration this manager works with.

=cut

sub cfg {
    my ($self) = @_;
    return $self->{cfg};
}

=head3 plan($kind, $args, %opts)

Collects the cluster state and computes a plan of C<$kind> (C<balance> or C<evacuate>) with
the engine arguments C<$args>. Returns the plan and the snapshot (PVE::Balancer::Planner::compute).

=cut

sub plan {
    my ($self, $kind, $args, %opts) = @_;

    return PVE::Balancer::Planner::compute($self->{env}, $self->{cfg}, $kind, $args, %opts);
}

=head3 running()

The balance run in progress anywhere in the cluster (its lease), or undef.

=cut

sub running {
    my ($self) = @_;
    return PVE::Balancer::Lease::active($self->{env});
}

# What a finished run leaves in the knowledge: the guests it moved start their cooldown, the
# ones that failed back off (automatic runs), the starts count for the hourly cap.
my sub learn_from_run {
    my ($env, $k, $record, $by, $eff) = @_;

    return if !$record;
    my @started;
    for my $m (@{ $record->{migrations} // [] }) {
        my $result = $m->{result} // '';
        push @started, $m->{started} if $by eq 'auto' && defined($m->{started});
        my $g;
        if ($result eq 'ok') {
            $g = PVE::Balancer::Manager::Rules::record_move($k, $m->{vmid}, $m->{started}
                // $record->{started}, $m->{from}, $m->{to}, $by, $eff);
        } elsif ($by eq 'auto' && ($result eq 'failed' || $result eq 'timeout')) {
            $g = PVE::Balancer::Manager::Rules::record_failure($k, $m->{vmid},
                $record->{finished} // $record->{started}, $eff);
        }
        next if !$g || ($g->{until} // 0) <= ($record->{finished} // $record->{started} // 0);
        my $lt = $env->local_time($g->{until});
        my $what = $result eq 'ok' ? "level " . ($g->{level} // 1) . ", not back to $m->{from}"
            . " for twice as long" : "after " . ($g->{failures} // 1) . " failure(s)";
        $env->log('info', sprintf("vm %d: cooldown until %s %02d:%02d (%s)", $m->{vmid},
            $lt->{date}, $lt->{hour}, $lt->{min}, $what));
    }
    PVE::Balancer::Manager::Rules::record_started($k, \@started,
        $record->{finished} // $record->{started}) if @started;
}

=head3 apply($plan, %opts)

Runs C<$plan> (PVE::Balancer::Executor::run with C<%opts>: C<kind>, C<args>, C<upid>,
C<user>, C<on-failure>, C<may_migrate>, ...), then records it in the knowledge (a balance run
starts the cooldown of the guests it moved) and notifies. Returns the run record; dies as
Executor::run does, after recording.

=cut

sub apply {
    my ($self, $plan, %opts) = @_;

    my $env = $self->{env};
    my $eff = PVE::Balancer::Config::effective($self->{cfg});
    my $kind = $opts{kind} // $plan->{kind} // 'balance';
    $opts{id} //= $opts{upid} // sprintf("%s:%d:%d", $env->nodename(), $$, $env->get_time());

    my $record;
    eval { PVE::Balancer::Executor::run($env, $plan, %opts, cfg => $self->{cfg},
        result => \$record) };
    my $err = $@;

    if ($record && $kind eq 'balance') {
        eval {
            PVE::Balancer::Manager::Knowledge::update($env, sub {
                my ($k) = @_;
                learn_from_run($env, $k, $record, 'manual', $eff);
                PVE::Balancer::Manager::Knowledge::prune($k, $env->get_time(), $eff);
            });
        };
        $env->log('warn', "could not record the run for automatic balancing - $@") if $@;
    }
    eval { PVE::Balancer::Notify::run($env, $eff, $record, trigger => 'manual') };
    $env->log('warn', "notification failed - $@") if $@;

    die $err if $err;
    return $record;
}

# --- the automatic cycle -------------------------------------------------------------------

my sub fmt_time {
    my ($env, $t) = @_;
    my $lt = $env->local_time($t);
    return sprintf("%s %02d:%02d", $lt->{date}, $lt->{hour}, $lt->{min});
}

# Keeps guest $vmid off $avoid in $snapshot (its move-back node) with pin tags for every other
# node, or by dropping $avoid from the pins it has. Returns false where that would contradict
# its own pins (they win).
my sub keep_off {
    my ($snapshot, $vmid, $avoid, $nodes, $proxlb) = @_;

    for my $e (@{ $snapshot->{resources} }) {
        next if !defined($e->{vmid}) || ($e->{type} // '') eq 'node';
        my $id = $e->{vmid}; # a copy: never stringify the snapshot's numbers
        next if $id != $vmid;
        my @tags = grep { length } split(/[;,\s]+/, $e->{tags} // '');
        my $pin_re = $proxlb ? qr/^(?:pvebal-pin-|plb_pin_)(.+)$/i : qr/^pvebal-pin-(.+)$/i;
        my @pins = map { m/$pin_re/ ? lc($1) : () } @tags;
        if (@pins) {
            my @left = grep { $_ ne lc($avoid) } @pins;
            return 0 if !@left || !grep { $_ eq lc($e->{node}) } @left;
            @tags = grep { !(m/$pin_re/ && lc($1) eq lc($avoid)) } @tags;
        } else {
            push @tags, map { "pvebal-pin-$_" } grep { $_ ne $avoid } @$nodes;
        }
        $e->{tags} = join(';', @tags);
        return 1;
    }
    return 0;
}

my sub fmt4 {
    my ($v) = @_;
    return defined($v) ? sprintf("%.4f", $v) : '-';
}

# the two numbers of a metrics object the knowledge keeps per cycle
my sub brief {
    my ($m) = @_;
    return undef if ref($m) ne 'HASH';
    return { map { defined($m->{$_}) ? ($_ => $m->{$_}) : () } qw(objective imbalance) };
}

# The cycle's end: log, record in the knowledge (unless it cannot be written), notify.
# Returns the exit code.
my sub finish {
    my ($self, $c, $decision, $why, $code, %opts) = @_;

    my $env = $self->{env};
    $c->{decision} = $decision;
    $c->{why} = $why;
    $c->{finished} = $env->get_time();
    $c->{'exit-code'} = $code;
    $env->log($code == EXIT_FAILED ? 'warn' : 'info', "cycle $c->{id} ($c->{trigger}): $decision"
        . " - $why");

    if (!$opts{no_record}) {
        my $eff = $opts{eff} // PVE::Balancer::Config::effective($self->{cfg});
        eval {
            my $nodes = eval { $env->guest_nodes() };
            PVE::Balancer::Manager::Knowledge::update($env, sub {
                my ($k) = @_;
                $_->($k) for @{ $opts{changes} // [] };
                PVE::Balancer::Manager::Rules::remember_nodes($k, $nodes) if $nodes;
                PVE::Balancer::Manager::Knowledge::prune($k, $env->get_time(), $eff);
                PVE::Balancer::Manager::Knowledge::add_cycle($k, { %$c });
            });
        };
        if (my $err = $@) {
            chomp $err;
            $env->log('warn', "could not record the cycle - $err");
        }
    }
    $self->{result} = $c;
    return $code;
}

=head3 cycle()

One automatic balancing cycle (see the top of this file and docs/daemon.md). Returns the exit
code: 0 done (whether or not it migrated), 75 skipped (no quorum, another run holds the
lease), 1 failed. The cycle's record is in C<result()> and in the knowledge.

=cut

sub cycle {
    my ($self) = @_;

    my $env = $self->{env};
    my $now = $env->get_time();
    $self->{id} //= sprintf("%s-%d-%d", $env->nodename(), $now, $$);
    my $c = {
        id => $self->{id},
        trigger => $self->{trigger},
        node => $env->nodename(),
        started => $now,
    };
    $c->{detail} = $self->{detail} if defined($self->{detail}) && length($self->{detail});

    # SIGTERM (pve-balancerd: leadership or quorum lost, auto off, timeout, shutdown) and
    # Ctrl-C: start nothing new. While a plan runs, the executor's own handlers take over.
    local $SIG{TERM} = local $SIG{INT} = local $SIG{QUIT} = sub {
        $self->{cancel} //= 'received interrupt';
    };

    if (!$env->quorate()) {
        return finish($self, $c, 'skipped', "this node is not in the quorate partition",
            EXIT_SKIPPED, no_record => 1);
    }

    my $cfg = $self->{cfg};
    my $eff = PVE::Balancer::Config::effective($cfg);
    my @changes;
    my %fin = (eff => $eff, changes => \@changes);

    if (!$eff->{auto}) {
        return finish($self, $c, 'off', "automatic balancing is off (balancer.cfg auto: 0)",
            EXIT_OK, %fin);
    }
    my ($errors) = PVE::Balancer::Config::problems($cfg);
    if (@$errors) {
        return finish($self, $c, 'failed', "/etc/pve/balancer.cfg has errors, automatic"
            . " balancing does not act until they are fixed: " . join('; ', @$errors),
            EXIT_FAILED, %fin);
    }
    my $closed = eval { PVE::Balancer::Window::closed($eff, $env->local_time($now)) };
    if (my $err = $@) {
        chomp $err;
        return finish($self, $c, 'failed', "/etc/pve/balancer.cfg: $err", EXIT_FAILED, %fin);
    }
    if (my $active = eval { PVE::Balancer::Lease::active($env) }) {
        return finish($self, $c, 'skipped', "another balance run is in progress ("
            . PVE::Balancer::Lease::describe($active) . ")", EXIT_SKIPPED, %fin);
    }
    my $settled = eval { PVE::Balancer::Recovery::reconcile($env, keep => $eff->{history}) };
    $env->log('warn', "could not settle earlier runs - $@") if $@;
    $env->log('info', "settled $settled earlier run(s) that ended without finishing their"
        . " record") if $settled;

    return finish($self, $c, 'cancelled', "$self->{cancel} before planning", EXIT_OK, %fin)
        if $self->{cancel};

    # --- monitor: the state, as a balance plan sees it, and HA capacity
    my ($snapshot, $inputs) = eval { PVE::Balancer::Planner::collect($env, $cfg) };
    if (my $err = $@) {
        chomp $err;
        return finish($self, $c, 'failed', "could not collect the cluster state: $err",
            EXIT_FAILED, %fin);
    }
    my $raw = dclone($snapshot);
    my ($notes, $crs, $left_to_crs) =
        PVE::Balancer::Planner::leave_to_crs($snapshot, $inputs, $cfg);

    my $score = eval { PVE::Balancer::Planner::call_engine('score', $raw) };
    my $before = $score ? $score->{metrics} : undef;
    $c->{metrics} = { before => brief($before) } if $before;

    my $k = PVE::Balancer::Manager::Knowledge::read($env);

    if (my ($capacity, $change) = PVE::Balancer::Manager::Capacity::watch($env, $eff, $raw, $k,
        $now)) {
        $c->{capacity} = $capacity;
        push @changes, $change;
    }

    # --- analyse: guests found moved by someone else, and what automatic balancing leaves alone
    my $nodes_of = {};
    my @node_names;
    for my $e (@{ $snapshot->{resources} }) {
        if (($e->{type} // '') eq 'node') {
            push @node_names, $e->{node} if ($e->{status} // '') eq 'online';
            next;
        }
        next if !defined($e->{vmid});
        my $vmid = $e->{vmid};
        $nodes_of->{$vmid} = $e->{node};
    }
    my $moving = { map { $_->{vmid} => 1 }
        @{ $snapshot->{'x-pve-balancer'}->{'in-flight'} // [] } };
    for my $m (@{ $snapshot->{'x-pve-balancer'}->{'in-flight'} // [] }) {
        $env->log('info', "counting a migration in flight as done: vm $m->{vmid}"
            . " $m->{from} -> $m->{to} ($m->{source})");
    }
    for my $o (@{ PVE::Balancer::Manager::Rules::moved_by_others($k, $nodes_of, $moving) }) {
        my $what = "moved $o->{from} -> $o->{to} by someone else (by hand, HA or CRS)"
            . ($o->{back} ? ", back to the node automatic balancing had moved it from" : '')
            . ": left alone for its cooldown";
        $env->log('info', "guest $o->{vmid}: $what");
        push @{ $c->{'moved-by-others'} }, $o;
        push @changes, sub {
            PVE::Balancer::Manager::Rules::record_move($_[0], $o->{vmid}, $now, $o->{from},
                $o->{to}, 'other', $eff);
        };
        PVE::Balancer::Manager::Rules::record_move($k, $o->{vmid}, $now, $o->{from}, $o->{to},
            'other', $eff);
    }

    my $cooling = PVE::Balancer::Manager::Rules::cooling($k, $now);
    my ($backup, $backup_problems) = PVE::Balancer::Backup::guarded($env, $snapshot, $eff);
    $env->log('warn', $_) for @$backup_problems;
    my %exclude = map { $_ => 1 } (keys %$cooling, keys %$backup);
    my @excluded = sort { $a <=> $b } keys %exclude;
    PVE::Balancer::State::mark_ignored($snapshot, \@excluded) if @excluded;
    $c->{cooldown} = scalar(keys %$cooling) if %$cooling;
    $c->{backup} = [sort { $a <=> $b } keys %$backup] if %$backup;

    my $avoid = PVE::Balancer::Manager::Rules::avoid($k, $now, $nodes_of);
    @node_names = sort @node_names;
    my $kept_off = 0;
    for my $vmid (sort { $a <=> $b } keys %$avoid) {
        next if $exclude{$vmid};
        $kept_off++ if keep_off($snapshot, $vmid, $avoid->{$vmid}, \@node_names,
            $eff->{'honor-proxlb-tags'});
    }

    my $left = PVE::Balancer::Manager::Rules::migrations_left($k, $now, $eff);
    my $stable = PVE::Balancer::Manager::Rules::stable_minutes($k, $now, $eff);
    my $args = {
        'max-migrations' => $left ? min($eff->{'max-migrations'}, $left)
            : $eff->{'max-migrations'},
        'cost-weight' => PVE::Balancer::Manager::Rules::cost_weight($eff->{'cost-weight'},
            $stable),
        # The improvement phase makes each plan better, but over a day of the real traces
        # (tests/sim) it cost more migrations for no better balance: off unless configured.
        'improve-plan' => $cfg->{values}->{'improve-plan'} // 0,
    };
    $c->{'stable-minutes'} = 0 + sprintf("%.0f", $stable);

    # --- plan
    my ($plan) = eval {
        PVE::Balancer::Planner::compute($env, $cfg, 'balance', $args, snapshot => $snapshot)
    };
    if (my $err = $@) {
        chomp $err;
        return finish($self, $c, 'failed', "planning failed: $err", EXIT_FAILED, %fin);
    }
    push @{ $plan->{notes} }, @$notes;
    my $n = scalar(@{ $plan->{migrations} // [] });
    my $objective = $before ? $before->{objective} : undef;
    $c->{planned} = $n;
    $c->{metrics}->{planned} = brief($plan->{metrics}->{after}) if $n;

    my $streak = PVE::Balancer::Manager::Rules::observe($k, $now, $n > 0, $objective);
    push @changes, sub {
        PVE::Balancer::Manager::Rules::observe($_[0], $now, $n > 0, $objective);
    };
    my $excluded_text = '';
    if (@excluded || $kept_off) {
        my @parts;
        push @parts, scalar(keys %$cooling) . " in cooldown" if %$cooling;
        push @parts, scalar(keys %$backup) . " near their backup" if %$backup;
        push @parts, "$kept_off kept off the node it left" if $kept_off;
        $excluded_text = " (left alone: " . join(', ', @parts) . ")";
    }

    # --- decide
    if (!$n) {
        my $threshold = $eff->{threshold};
        if (defined($objective) && $objective <= $threshold) {
            return finish($self, $c, 'balanced', "objective " . fmt4($objective) . " at or below"
                . " threshold $threshold" . $excluded_text, EXIT_OK, %fin);
        }
        return finish($self, $c, 'no-move', "no move worth its cost: objective "
            . fmt4($objective) . ", cost-weight $args->{'cost-weight'} for a stable period of"
            . " $c->{'stable-minutes'} min" . $excluded_text, EXIT_OK, %fin);
    }
    # Repairs of broken rules or limits (docs/constraints.md) do not wait for hold-rounds; CPU
    # above cpu-limit does, as any CPU load: contention is soft and spikes pass.
    my $repairs = scalar(grep { $_->{repair} } @{ $plan->{migrations} });
    my $urgent = scalar(grep { ($_->{repair} // 'cpu') ne 'cpu' } @{ $plan->{migrations} });
    $c->{repairs} = $repairs if $repairs;
    my $would = "objective " . fmt4($objective) . " -> "
        . fmt4($plan->{metrics}->{after}->{objective}) . " with $n migration(s)"
        . ($repairs ? ", $repairs repairing broken rules or limits" : '');
    if (!$left) {
        my $next = PVE::Balancer::Manager::Rules::next_start_allowed($k, $now, $eff);
        return finish($self, $c, 'capped', "out of balance ($would), but"
            . " max-migrations-per-hour ($eff->{'max-migrations-per-hour'}) is reached until "
            . fmt_time($env, $next), EXIT_OK, %fin);
    }
    my $hold = $eff->{'hold-rounds'} // 1;
    if (!$urgent && $streak->{rounds} < $hold) {
        return finish($self, $c, 'held', "out of balance ($would) in $streak->{rounds} of"
            . " $hold consecutive round(s) (hold-rounds)" . $excluded_text, EXIT_OK, %fin);
    }
    if ($closed) {
        return finish($self, $c, 'closed', "out of balance ($would), but $closed", EXIT_OK,
            %fin);
    }
    return finish($self, $c, 'cancelled', "$self->{cancel} before migrating", EXIT_OK, %fin)
        if $self->{cancel};

    # --- execute
    my $margin = max(60, map { ($_->{cost}->{seconds} // 0) * 1.5 } @{ $plan->{migrations} });
    my $stop_reason;
    my $stop = sub {
        return $stop_reason = $self->{cancel} if $self->{cancel};
        return $stop_reason = 'quorum lost' if !$env->quorate();
        my $t = $env->get_time();
        if (defined($self->{deadline}) && $t + $margin >= $self->{deadline}) {
            return $stop_reason = "the cycle's deadline (" . fmt_time($env, $self->{deadline})
                . ") is too close for more migrations";
        }
        if (my $why = eval { PVE::Balancer::Window::closed($eff, $env->local_time($t)) }) {
            return $stop_reason = "balancing stopped: $why";
        }
        return undef;
    };

    $env->log('info', "cycle $c->{id}: migrating, $would" . $excluded_text);
    my $record;
    eval {
        PVE::Balancer::Executor::run(
            $env, $plan,
            kind => 'balance',
            args => $args,
            cfg => $cfg,
            id => $c->{id},
            user => 'root@pam',
            stop => $stop,
            record => { trigger => $c->{trigger}, by => 'pve-balancerd' },
            result => \$record,
        );
    };
    my $err = $@;
    chomp $err if $err;

    push @changes, sub { learn_from_run($env, $_[0], $record, 'auto', $eff) };
    # acting ends the streak: the next cycles look again from the new state
    push @changes, sub { delete $_[0]->{imbalance} };
    $c->{run} = $c->{id};
    if ($record) {
        $c->{$_} = $record->{$_} // 0 for qw(moved failed skipped not-started);
        $c->{metrics}->{after} = brief($record->{metrics}->{after})
            if $record->{metrics}->{after};
    }
    my $why = $record
        ? "moved $c->{moved} of $n planned ($would)"
            . ($c->{failed} ? ", $c->{failed} failed" : '')
            . ($c->{skipped} ? ", $c->{skipped} skipped" : '')
            . ($c->{'not-started'} ? ", $c->{'not-started'} not started" : '')
        : "the run failed: $err";
    my ($decision, $code) = ('acted', EXIT_OK);
    my $status = $record ? $record->{status} // '' : 'error';
    if ($status eq 'cancelled') {
        $decision = 'cancelled';
        my $reason = $stop_reason // (($record->{message} // '') =~ s/^cancelled \((.*)\)$/$1/r);
        $why .= "; stopped: " . ($reason || 'cancelled');
        $code = defined($stop_reason) && $stop_reason eq 'quorum lost' ? EXIT_SKIPPED : EXIT_OK;
    } elsif ($status eq 'error' || ($status eq 'failed' && !$c->{moved} && $c->{failed})) {
        $decision = 'failed';
        $why .= " ($err)" if $err && $record;
        $code = EXIT_FAILED;
    } elsif (!$c->{moved}) {
        # every step was skipped when its turn came (the state had changed): nothing failed
        $decision = 'no-move';
        $why .= ": the planned steps no longer held when their turn came";
    }
    eval { PVE::Balancer::Notify::run($env, $eff, $record, trigger => $c->{trigger}, why => $why) };
    $env->log('warn', "notification failed - $@") if $@;
    return finish($self, $c, $decision, $why, $code, %fin);
}

=head3 result()

The record of the last cycle (see PVE::Balancer::Manager::Knowledge, C<cycles>).

=cut

sub result {
    my ($self) = @_;
    return $self->{result};
}

=head3 main($env_vars)

The cycle command of pve-balancerd: reads the daemon's environment (C<PVE_BALANCER_CYCLE_ID>,
C<PVE_BALANCER_TRIGGER>, C<PVE_BALANCER_TRIGGER_DETAIL>, C<PVE_BALANCER_DEADLINE>), runs one
cycle on the real cluster and returns its exit code. A cycle that dies unexpectedly logs why
and returns 1.

=cut

sub main {
    my ($vars, %opts) = @_;

    $vars //= \%ENV;
    my $env = $opts{env} // do {
        require PVE::Balancer::Env;
        PVE::Balancer::Env->default_env();
    };
    my $deadline = $vars->{PVE_BALANCER_DEADLINE};
    $deadline = undef if defined($deadline) && $deadline !~ m/^\d+$/;
    my $trigger = $vars->{PVE_BALANCER_TRIGGER} // 'manual';
    $trigger = 'manual' if $trigger !~ m/^[a-z,]+$/;

    my $code = eval {
        my $self = PVE::Balancer::Manager->new($env,
            id => $vars->{PVE_BALANCER_CYCLE_ID},
            trigger => $trigger,
            detail => $vars->{PVE_BALANCER_TRIGGER_DETAIL},
            deadline => $deadline,
        );
        $self->cycle();
    };
    if (my $err = $@) {
        chomp $err;
        eval { $env->log('warn', "cycle failed: $err") };
        return EXIT_FAILED;
    }
    return $code;
}

1;
