package PVE::Balancer::Planner;

# Between the cluster and the engine: collects the snapshot the engine plans on (with the
# options of balancer.cfg and the migrations still in flight), calls PVE::Balancer::Native and
# turns its errors into API errors (engine_error is the one place that reads them). The API
# needs the engine already to build its parameter schemas (PVE::Balancer::Config); if the XS
# module is missing or broken, PVE::Balancer::APIRegister leaves /cluster/balance unmounted and
# logs why, and pvedaemon/pveproxy start as usual.

use strict;
use warnings;

use Scalar::Util qw(blessed);

use Digest::SHA;
use JSON;

use PVE::Exception qw(raise raise_param_exc);

use PVE::Balancer::Config;
use PVE::Balancer::Lease;
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

=head3 engine_error($err)

Splits an error of PVE::Balancer::Native into C<(path, message)>: the JSON path or argument
name it concerns and the message. Today the engine dies with the text
C<"pve-balancer: PATH: MESSAGE\n">; an error object with C<path> and C<message> (as the XS
module will raise them) is taken as it is. Returns C<(undef, text)> for anything else.

=cut

sub engine_error {
    my ($err) = @_;

    if (ref($err) && eval { $err->can('path') && $err->can('message') }) {
        return ($err->path(), $err->message());
    }
    if (ref($err) eq 'HASH' && defined($err->{message})) {
        return ($err->{path}, $err->{message});
    }
    my $text = "$err";
    if ($text =~ m/^pve-balancer: (?:--)?([^:\s]+): (.*?)\s*$/s) {
        return ($1, $2);
    }
    chomp $text;
    return (undef, $text);
}

my $state_fields_known;

=head3 engine_compatible($snapshot)

C<$snapshot> as the loaded engine reads it. The state collection writes replication jobs
(C<guests.ID.replication>) and resource mappings (C<mappings>); an engine built before it
knew these fields refuses them as unknown keys, so for such an engine they are left out of a
copy (its plans then lack those constraints, and qemu-server still refuses such a migration
when it starts). Transitional: remove once every engine reads them.

=cut

sub engine_compatible {
    my ($snapshot) = @_;

    return $snapshot if ref($snapshot) ne 'HASH';
    $state_fields_known //= eval {
        PVE::Balancer::Native::score({
            resources => [
                { id => 'node/a', type => 'node', node => 'a', status => 'online', maxcpu => 1,
                    cpu => 0, maxmem => 2**30, mem => 0 },
                { id => 'qemu/100', type => 'qemu', vmid => 100, node => 'a', status => 'stopped',
                    maxcpu => 1, maxmem => 2**20 },
            ],
            guests => { 100 => { replication => [{ id => '100-0', target => 'a' }] } },
            mappings => { pci => {}, usb => {} },
        });
        1;
    } ? 1 : 0;
    return $snapshot if $state_fields_known;

    my $copy = { %$snapshot };
    delete $copy->{mappings};
    if (my $guests = $copy->{guests}) {
        $copy->{guests} = {
            map {
                my $g = { %{ $guests->{$_} } };
                delete $g->{replication};
                ($_ => $g)
            } keys %$guests
        };
    }
    return $copy;
}

=head3 call_engine($command, $snapshot, %args)

Runs an engine command (score, plan, evacuate, failover, capacity, place) and returns its
result. An engine error that names one of C<%args> becomes a parameter exception for that
field (HTTP 400); an error in the snapshot's options is a 400 too; any other engine error is
raised as is.

=cut

sub call_engine {
    my ($command, $snapshot, %args) = @_;

    load_native();
    my $func = PVE::Balancer::Native->can($command)
        or die "pve-balancer engine has no command '$command'\n";

    $snapshot = engine_compatible($snapshot);
    my $res = eval { $func->($snapshot, %args) };
    if (my $err = $@) {
        die $err if ref($err) && ref($err) ne 'HASH' && !eval { $err->can('path') };
        my ($path, $message) = engine_error($err);
        raise_param_exc({ $path => $message }) if defined($path) && exists($args{$path});
        my $text = defined($path) ? "pve-balancer: $path: $message" : $message;
        raise("$text\n", code => 400) if defined($path) && $path =~ m/^options\./;
        die "$text\n";
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
    count_in_flight($env, $snapshot);
    return wantarray ? ($snapshot, $inputs) : $snapshot;
}

=head3 in_flight($env, $snapshot)

Migrations that run right now and that the snapshot still shows on their source: HA
migrations (service state C<migrate> or C<relocate> with a target, or a C<migrate>/C<relocate>
command queued for the CRM, such as the moves of Proxmox's CRS auto-rebalance) and the
migrations of a
balance run that still run (also after that run was cancelled or died, see
PVE::Balancer::Lease). A list of C<{vmid, from, to, source}>, sorted by vmid.

=cut

sub in_flight {
    my ($env, $snapshot) = @_;

    my %res;
    my $ss = $snapshot->{ha}->{'manager-status'}->{service_status} // {};
    for my $sid (sort keys %$ss) {
        my $sd = $ss->{$sid};
        next if ($sd->{state} // '') !~ m/^(?:migrate|relocate)$/ || !$sd->{target};
        my ($vmid) = $sid =~ m/^(?:vm|ct):(\d+)$/ or next;
        $res{$vmid} = { vmid => 0 + $vmid, from => $sd->{node}, to => $sd->{target},
            source => 'HA' };
    }
    # commands queued for the CRM and not read yet (pve-ha-manager's ha/crm_commands, as
    # PVE::HA::Config::queue_crm_commands writes them): the CRM moves these guests within its
    # next round, so they count as moving already
    my $queued = eval { $env->read_cfs_file('ha/crm_commands') } // '';
    my %on;
    for my $line (split(/\n/, $queued)) {
        my ($vmid, $target) = $line =~ m/^\s*(?:migrate|relocate)\s+(?:vm|ct):(\d+)\s+(\S+)\s*$/
            or next;
        next if $res{$vmid};
        if (!%on) {
            for my $e (@{ $snapshot->{resources} // [] }) {
                next if !defined($e->{vmid});
                my $id = $e->{vmid}; # a copy: never stringify the snapshot's numbers
                $on{$id} = $e->{node};
            }
        }
        my $from = $on{$vmid} // next;
        next if $from eq $target;
        $res{$vmid} = { vmid => 0 + $vmid, from => $from, to => $target, source => 'queued CRM command' };
    }

    my $lease = eval { PVE::Balancer::Lease::read($env) };
    if ($lease) {
        for my $m (@{ PVE::Balancer::Lease::running_migrations($env, $lease) }) {
            my $vmid = 0 + $m->{vmid};
            $res{$vmid} //= { vmid => $vmid, from => $m->{from}, to => $m->{to},
                source => $lease->{upid} // $lease->{id} };
        }
    }
    return [map { $res{$_} } sort { $a <=> $b } keys %res];
}

=head3 count_in_flight($env, $snapshot)

Puts every guest that in_flight() reports as still moving on its target in C<$snapshot>, so a
plan counts it there (it keeps its lock, so it is not planned again), and lists them under
C<x-pve-balancer.in-flight>.

=cut

sub count_in_flight {
    my ($env, $snapshot) = @_;

    my $moving = in_flight($env, $snapshot);
    return if !@$moving;
    my %to = map { $_->{vmid} => $_ } @$moving;
    for my $e (@{ $snapshot->{resources} }) {
        next if !defined($e->{vmid});
        my $vmid = $e->{vmid}; # a copy, see PVE::Balancer::State::guest_index
        my $m = $to{$vmid} or next;
        next if $e->{node} ne ($m->{from} // $e->{node});
        $e->{node} = $m->{to};
        $e->{lock} //= 'migrate';
    }
    $snapshot->{'x-pve-balancer'}->{'in-flight'} = $moving;
}

=head3 crs_settings($inputs)

The C<crs> settings of datacenter.cfg (Proxmox's own cluster resource scheduling) with
their defaults: C<ha>, C<ha-rebalance-on-start>, C<ha-auto-rebalance>, and C<balancing>:
whether the HA manager really balances HA guests itself (pve-ha-manager's
PVE::HA::Manager::load_balance runs only with auto-rebalance on and the C<static> or
C<dynamic> scheduler).

=cut

sub crs_settings {
    my ($inputs) = @_;

    my $crs = $inputs->{datacenter}->{crs};
    $crs = {} if ref($crs) ne 'HASH';
    my $res = {
        ha => $crs->{ha} // 'basic',
        'ha-rebalance-on-start' => $crs->{'ha-rebalance-on-start'} ? 1 : 0,
        'ha-auto-rebalance' => $crs->{'ha-auto-rebalance'} ? 1 : 0,
    };
    $res->{balancing} = $res->{'ha-auto-rebalance'}
        && ($res->{ha} eq 'static' || $res->{ha} eq 'dynamic') ? 1 : 0;
    return $res;
}

=head3 skip_ha_guests($cfg, $crs)

True if balancing leaves HA-managed guests alone: C<ha-guests> is C<skip>, or C<auto> while
the HA manager balances them itself (see crs_settings). With C<auto>, HA guests whose resource
opted out of the HA manager's balancing (C<auto-rebalance: 0> in resources.cfg) are still
planned, see ha_guests_left_to_crs().

=cut

sub skip_ha_guests {
    my ($cfg, $crs) = @_;

    my $mode = PVE::Balancer::Config::effective($cfg)->{'ha-guests'};
    return 1 if $mode eq 'skip';
    return 0 if $mode eq 'move';
    return $crs->{balancing} ? 1 : 0;
}

=head3 ha_guests_left_to_crs($snapshot, $inputs, $cfg, $crs)

The vmids of the HA-managed guests that balancing leaves in place: all of them with
C<ha-guests: skip>, none with C<move>, and with C<auto> those the HA manager balances
(auto-rebalance on, and the resource not opted out). Sorted.

=cut

sub ha_guests_left_to_crs {
    my ($snapshot, $inputs, $cfg, $crs) = @_;

    return [] if !skip_ha_guests($cfg, $crs);
    my $vmids = PVE::Balancer::State::ha_managed_vmids($snapshot);
    my $mode = PVE::Balancer::Config::effective($cfg)->{'ha-guests'};
    return $vmids if $mode eq 'skip';

    my $ids = $inputs->{ha}->{resources}->{ids} // {};
    my %opted_out;
    for my $sid (keys %$ids) {
        my $flag = $ids->{$sid}->{'auto-rebalance'};
        next if !defined($flag) || $flag;
        $opted_out{$1} = 1 if $sid =~ m/^(?:vm|ct):(\d+)$/;
    }
    return [grep { !$opted_out{$_} } @$vmids];
}

=head3 leave_to_crs($snapshot, $inputs, $cfg)

Marks the HA-managed guests that balancing leaves alone (ha_guests_left_to_crs) with the tag
C<pvebal-ignore> in C<$snapshot> (collected with C<$inputs>). Returns a list of notes for the
plan and the crs settings of datacenter.cfg.

=cut

sub leave_to_crs {
    my ($snapshot, $inputs, $cfg) = @_;

    my $eff = PVE::Balancer::Config::effective($cfg);
    my $notes = [];
    my $crs = crs_settings($inputs);
    my $vmids = ha_guests_left_to_crs($snapshot, $inputs, $cfg, $crs);
    if (@$vmids) {
        PVE::Balancer::State::mark_ignored($snapshot, $vmids);
        my $why = $eff->{'ha-guests'} eq 'skip'
            ? "ha-guests is 'skip'"
            : "the HA manager balances them (datacenter.cfg crs ha-auto-rebalance)";
        push @$notes, scalar(@$vmids) . " HA-managed guest(s) left in place: $why";
    }
    return ($notes, $crs, $vmids);
}

=head3 balance_snapshot($env, $cfg, %opts)

The snapshot a balance plan is computed on: a fresh snapshot where the HA-managed guests that
balancing leaves alone (ha_guests_left_to_crs) carry the tag C<pvebal-ignore>. Returns the
snapshot, a list of notes for the plan and the crs settings of datacenter.cfg.

=cut

sub balance_snapshot {
    my ($env, $cfg, %opts) = @_;

    my ($snapshot, $inputs) = collect($env, $cfg, %opts);
    my ($notes, $crs) = leave_to_crs($snapshot, $inputs, $cfg);
    return ($snapshot, $notes, $crs);
}

=head3 plan_digest($plan)

A SHA-1 digest of what a plan would do (the ordered migrations), so an apply request can
insist on exactly the plan that was reviewed.

=cut

sub plan_digest {
    my ($plan) = @_;

    # join() would turn the plan's numbers into strings (JSON::XS then writes "201"): copy first
    my $moves = [
        map {
            my @values = map { my $copy = $_; $copy // '' } $_->@{qw(step wave vmid from to mode)};
            join(':', @values)
        } @{ $plan->{migrations} // [] }
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
