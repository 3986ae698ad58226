package PVE::HA::Config;

# Test double of pve-ha-manager's PVE::HA::Config (src/PVE/HA/Config.pm): the HA resources,
# rules and groups as the SectionConfig parsers return them ({ids => {...}}), the manager
# status (with 'disarm' => {mode, state} while HA is disarmed), the CRM command queue
# (queue_crm_commands appends under the 'domain-ha' lock, the simulated CRM consumes), and the
# managed checks with the real rules of service_check_ha_state: an 'ignored' resource and,
# while HA is disarmed in 'ignore' mode, every resource counts as not managed
# (vm_is_ha_managed, service_is_ha_managed - which dies without $noerr -, get_service_status).

use strict;
use warnings;

my sub sim {
    my $sim = PVEBalancerTest::SimCluster->current() or die "no cluster\n";
    return $sim;
}

sub read_resources_config {
    return sim()->ha_file('resources');
}

sub read_rules_config {
    return sim()->ha_file('rules');
}

sub read_group_config {
    return sim()->ha_file('groups');
}

sub read_manager_status {
    return sim()->ha_file('manager_status');
}

sub queue_crm_commands {
    my ($cmd) = @_;

    chomp $cmd;
    my $sim = sim();
    die "cfs-lock 'domain-ha' error: got lock request timeout\n"
        if $sim->{locks_held}->{'domain-ha'};
    $sim->{ha}->{crm_commands} .= "$cmd\n";
    push @{ $sim->{crm_log} }, $cmd;
    return undef;
}

sub any_pending_crm_command {
    my $data = sim()->{ha}->{crm_commands};
    return defined($data) && length($data);
}

my sub check_ha_state {
    my ($sid, $has_state) = @_;

    my $sim = sim();
    my $d = ($sim->{ha}->{resources}->{ids} // {})->{$sid} or return undef;
    my $state = $d->{state} // 'started';
    $state = 'started' if $state eq 'enabled';
    if (!defined($has_state)) {
        return 0 if $state eq 'ignored';
        my $disarm = $sim->{ha}->{manager_status}->{disarm};
        return 0 if $disarm && $disarm->{mode} eq 'ignore';
        return 1;
    }
    $has_state = 'started' if $has_state eq 'enabled';
    return $state eq $has_state ? 1 : undef;
}

sub vm_is_ha_managed {
    my ($vmid, $has_state) = @_;

    for my $type (qw(vm ct)) {
        return 1 if check_ha_state("$type:$vmid", $has_state);
    }
    return undef;
}

sub service_is_ha_managed {
    my ($sid, $has_state, $noerr) = @_;

    return 1 if check_ha_state($sid, $has_state);
    die "resource '$sid' is not HA managed\n" if !$noerr;
    return undef;
}

sub get_service_status {
    my ($sid) = @_;

    my $status = { managed => 0 };
    if (check_ha_state($sid)) {
        $status->{managed} = 1;
        my $ss = sim()->{ha}->{manager_status}->{service_status} // {};
        $status->{state} = $ss->{$sid} ? $ss->{$sid}->{state} : undef;
    }
    return $status;
}

1;
