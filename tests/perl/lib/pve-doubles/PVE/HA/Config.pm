package PVE::HA::Config;

# Test double of pve-ha-manager's PVE::HA::Config: the HA resources, rules and groups as the
# SectionConfig parsers return them ({ids => {...}}), the manager status, and the CRM command
# queue (queue_crm_commands appends, the simulated CRM consumes).

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

sub vm_is_ha_managed {
    my ($vmid, $has_state) = @_;

    my $ids = sim()->ha_file('resources')->{ids} // {};
    for my $type (qw(vm ct)) {
        my $d = $ids->{"$type:$vmid"} or next;
        my $state = $d->{state} // 'started';
        return 1 if !defined($has_state) && $state ne 'ignored';
        return 1 if defined($has_state) && $state eq $has_state;
    }
    return undef;
}

1;
