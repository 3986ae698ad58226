package PVE::Balancer::API::Plan;

# What the planning calls of /cluster/balance share: API parameters -> engine arguments (read
# as balancer.cfg and the CLI read them), the notes about balancer.cfg, and balance and
# evacuate: compute the plan, return it (dry run) or run it as a worker task.

use strict;
use warnings;

use JSON;

use PVE::Exception qw(raise raise_param_exc);
use PVE::RPCEnvironment;
use PVE::Tools qw(extract_param);

use PVE::Balancer::API::Permissions;
use PVE::Balancer::Config;
use PVE::Balancer::Env;
use PVE::Balancer::Lease;
use PVE::Balancer::Manager;

=head3 engine_args($param, @command_args)

The engine arguments of the API parameters C<$param>: the keys C<@command_args> as given, every
engine option normalized as balancer.cfg's are (so the API accepts exactly what balancer.cfg
and the CLI do), other keys left out. Raises a parameter exception naming each bad option.

=cut

sub engine_args {
    my ($param, @command_args) = @_;

    my $args = {};
    my $errors = {};
    for my $key (sort keys %$param) {
        next if !defined($param->{$key});
        if (grep { $_ eq $key } @command_args) {
            $args->{$key} = $param->{$key};
            next;
        }
        next if !PVE::Balancer::Config::is_engine_option($key);
        # the engine's strict reading, so the API accepts exactly what balancer.cfg and the CLI do
        my $value = $param->{$key};
        $value = $value ? 1 : 0 if ref($value) && JSON::is_bool($value);
        $args->{$key} = eval { PVE::Balancer::Config::normalize($key, $value) };
        if (my $err = $@) {
            chomp $err;
            $errors->{$key} = $err;
        }
    }
    raise_param_exc($errors) if %$errors;
    return $args;
}

=head3 config_notes($cfg)

The errors and warnings of balancer.cfg as notes of an answer.

=cut

sub config_notes {
    my ($cfg) = @_;

    my ($errors, $warnings) = PVE::Balancer::Config::problems($cfg);
    return [(map { "configuration error: $_" } @$errors), (map { "configuration: $_" } @$warnings)];
}

=head3 plan_and_maybe_apply($kind, $param, @command_args)

Computes a C<balance> or C<evacuate> plan with the API parameters C<$param>; returns it (dry
run) or, with C<apply>, checks the permissions, the digest and the lease and returns the UPID
of the worker task that runs it.

=cut

sub plan_and_maybe_apply {
    my ($kind, $param, @command_args) = @_;

    my $rpcenv = PVE::RPCEnvironment::get();
    my $authuser = $rpcenv->get_user();

    my $apply = extract_param($param, 'apply');
    my $digest = extract_param($param, 'digest');
    my $on_failure = extract_param($param, 'on-failure');
    my $ha_guests = extract_param($param, 'ha-guests');

    my $env = PVE::Balancer::Env->default_env();
    my $cfg = PVE::Balancer::Config::load($env);
    # this request's choice wins over balancer.cfg, for the plan and for re-plans of its run
    $cfg->{values}->{'ha-guests'} = $ha_guests if defined($ha_guests);
    my $args = engine_args($param, @command_args);

    if ($apply) {
        # fail early, before the plan is computed, when the user may not apply anything
        $rpcenv->check($authuser, '/', ['Sys.Modify']);
        eval { PVE::Balancer::Config::check_applicable($cfg) };
        raise($@, code => 400) if $@;
    }

    my $manager = PVE::Balancer::Manager->new($env, cfg => $cfg);
    my ($plan, $snapshot) = $manager->plan($kind, $args);

    if (!$apply) {
        $plan->{permissions} = PVE::Balancer::API::Permissions::caller_permissions(
            $rpcenv, $authuser, $plan, $snapshot,
        );
        push @{ $plan->{notes} }, @{ config_notes($cfg) };
        return PVE::Balancer::API::Permissions::visible_only($plan, $rpcenv, $authuser);
    }

    PVE::Balancer::API::Permissions::check_apply($rpcenv, $authuser, $plan, $snapshot);

    if (defined($digest) && $digest ne $plan->{digest}) {
        raise("the plan changed since it was shown (digest mismatch) - review it again\n",
            code => 409);
    }

    if (my $active = $manager->running()) {
        raise("another balance run is in progress ("
            . PVE::Balancer::Lease::describe($active) . ")\n", code => 409);
    }

    my $worker = sub {
        my ($upid) = @_;

        $manager->apply(
            $plan,
            kind => $kind,
            args => $args,
            upid => $upid,
            user => $authuser,
            defined($on_failure) ? ('on-failure' => $on_failure) : (),
            may_migrate => sub {
                my ($vmid) = @_;
                return $rpcenv->check($authuser, "/vms/$vmid", ['VM.Migrate'], 1);
            },
        );
        return;
    };

    my $dtype = $kind eq 'evacuate' ? 'balance-evacuate' : 'balance';
    my $id = $kind eq 'evacuate' ? ($args->{node} =~ s/[,;\s]+/-/gr) : '';

    return $rpcenv->fork_worker($dtype, $id, $authuser, $worker);
}

1;
