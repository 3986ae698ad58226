package PVE::Balancer::Planner;

# Between the cluster and the engine: collects the snapshot the engine plans on (with the
# options of balancer.cfg), calls PVE::Balancer::Native and turns its errors into API errors.
# The engine is loaded on first use, so a missing or broken XS module never stops the API from
# loading; only the calls that need it fail, with a clear message.

use strict;
use warnings;

use Scalar::Util qw(blessed);

use Digest::SHA;
use JSON;

use PVE::Exception qw(raise raise_param_exc);

use PVE::Balancer::Config;
use PVE::Balancer::State;

my $native_loaded;
my $native_error;

my sub load_native {
    return 1 if $native_loaded;
    die "pve-balancer engine (PVE::Balancer::Native) not available - $native_error"
        if defined($native_error);
    eval { require PVE::Balancer::Native; };
    if (my $err = $@) {
        $native_error = $err;
        die "pve-balancer engine (PVE::Balancer::Native) not available - $err";
    }
    $native_loaded = 1;
    return 1;
}

=head3 engine_version()

The engine's version string, or undef if the engine cannot be loaded.

=cut

sub engine_version {
    return eval { load_native(); PVE::Balancer::Native::version() };
}

=head3 call_engine($command, $snapshot, %args)

Runs an engine command (score, plan, evacuate, failover, capacity, place) and returns its
result. An engine error that names one of C<%args> becomes a parameter exception for that
field (HTTP 400); any other engine error is raised as is.

=cut

sub call_engine {
    my ($command, $snapshot, %args) = @_;

    load_native();
    my $func = PVE::Balancer::Native->can($command)
        or die "pve-balancer engine has no command '$command'\n";

    my $res = eval { $func->($snapshot, %args) };
    if (my $err = $@) {
        # Engine errors are PVE::Balancer::Native::Error objects {path, message}; as text
        # they read "pve-balancer: PATH: MESSAGE".
        die $err if ref($err) && !(blessed($err) && $err->isa('PVE::Balancer::Native::Error'));
        $err = "$err";
        if ($err =~ m/^pve-balancer: (?:--)?([a-z][a-z0-9\-]*): (.*?)\s*$/s && exists($args{$1})) {
            raise_param_exc({ $1 => $2 });
        }
        chomp $err;
        raise("$err\n", code => 400) if $err =~ m/^pve-balancer: options\./;
        die "$err\n";
    }
    return $res;
}

=head3 collect($env, $cfg, %opts)

Collects a fresh snapshot with the engine options of balancer.cfg (C<$cfg>, as
PVE::Balancer::Config::load returns it). C<rrd> => 0 skips the RRD history (quick checks).
Returns the snapshot and, in list context, also the raw inputs it was built from.

=cut

sub collect {
    my ($env, $cfg, %opts) = @_;

    my $eff = PVE::Balancer::Config::effective($cfg);
    my $window = ($opts{rrd} // 1) ? $eff->{'rrd-window'} : 0;

    my $inputs = $env->cluster_inputs(rrd_window => $window);
    my $snapshot = PVE::Balancer::State::build_snapshot(
        $inputs,
        options => PVE::Balancer::Config::engine_options($cfg),
        version => engine_version(),
    );
    return wantarray ? ($snapshot, $inputs) : $snapshot;
}

=head3 crs_settings($inputs)

The C<crs> settings of datacenter.cfg (Proxmox's own cluster resource scheduling) with
their defaults: C<ha>, C<ha-rebalance-on-start>, C<ha-auto-rebalance>.

=cut

sub crs_settings {
    my ($inputs) = @_;

    my $crs = $inputs->{datacenter}->{crs};
    $crs = {} if ref($crs) ne 'HASH';
    return {
        ha => $crs->{ha} // 'basic',
        'ha-rebalance-on-start' => $crs->{'ha-rebalance-on-start'} ? 1 : 0,
        'ha-auto-rebalance' => $crs->{'ha-auto-rebalance'} ? 1 : 0,
    };
}

=head3 skip_ha_guests($cfg, $crs)

True if balancing leaves HA-managed guests alone: C<ha-guests> is C<skip>, or C<auto> while
the HA manager balances them itself (datacenter.cfg crs ha-auto-rebalance).

=cut

sub skip_ha_guests {
    my ($cfg, $crs) = @_;

    my $mode = PVE::Balancer::Config::effective($cfg)->{'ha-guests'};
    return 1 if $mode eq 'skip';
    return 0 if $mode eq 'move';
    return $crs->{'ha-auto-rebalance'} ? 1 : 0;
}

=head3 balance_snapshot($env, $cfg, %opts)

The snapshot a balance plan is computed on: a fresh snapshot where, if skip_ha_guests(),
the HA-managed guests carry the tag C<pvebal-ignore>. Returns the snapshot, a list of notes
for the plan and the crs settings of datacenter.cfg.

=cut

sub balance_snapshot {
    my ($env, $cfg, %opts) = @_;

    my $eff = PVE::Balancer::Config::effective($cfg);
    my ($snapshot, $inputs) = collect($env, $cfg, %opts);

    my $notes = [];
    my $crs = crs_settings($inputs);
    if (skip_ha_guests($cfg, $crs)) {
        my $vmids = PVE::Balancer::State::ha_managed_vmids($snapshot);
        if (@$vmids) {
            PVE::Balancer::State::mark_ignored($snapshot, $vmids);
            my $why = $eff->{'ha-guests'} eq 'skip'
                ? "ha-guests is 'skip'"
                : "the HA manager balances them (datacenter.cfg crs ha-auto-rebalance)";
            push @$notes, scalar(@$vmids) . " HA-managed guest(s) left in place: $why";
        }
    }

    return ($snapshot, $notes, $crs);
}

=head3 plan_digest($plan)

A SHA-1 digest of what a plan would do (the ordered migrations), so an apply request can
insist on exactly the plan that was reviewed.

=cut

sub plan_digest {
    my ($plan) = @_;

    my $moves = [
        map { join(':', $_->@{qw(step wave vmid from to mode)}) } @{ $plan->{migrations} // [] }
    ];
    return Digest::SHA::sha1_hex(join("\n", ($plan->{kind} // ''), @$moves));
}

=head3 compute($env, $cfg, $kind, $args, %opts)

Collects the snapshot and computes a plan of C<$kind> (C<balance> or C<evacuate>) with the
engine arguments C<$args> (engine options and, for evacuate, C<node>). Returns the plan
(with C<digest> and the notes of the integration added) and the snapshot it was made from.
C<exclude> (vmids) keeps guests in place, C<snapshot> reuses a collected snapshot.

=cut

sub compute {
    my ($env, $cfg, $kind, $args, %opts) = @_;

    my ($snapshot, $notes) = ($opts{snapshot}, []);
    if (!$snapshot) {
        if ($kind eq 'balance') {
            ($snapshot, $notes) = balance_snapshot($env, $cfg);
        } else {
            $snapshot = collect($env, $cfg);
        }
    }
    if (my $exclude = $opts{exclude}) {
        PVE::Balancer::State::mark_ignored($snapshot, $exclude) if @$exclude;
    }

    my $plan;
    if ($kind eq 'balance') {
        $plan = call_engine('plan', $snapshot, %$args);
    } elsif ($kind eq 'evacuate') {
        $plan = call_engine('evacuate', $snapshot, %$args);
    } else {
        die "unknown plan kind '$kind'\n";
    }

    push @{ $plan->{notes} }, @$notes if @$notes;
    $plan->{digest} = plan_digest($plan);

    return ($plan, $snapshot);
}

1;
