package PVE::Balancer::Access;

# Who may see and move which guest. Answers of /cluster/balance name only guests the caller has
# 'VM.Audit' on, as GET /cluster/resources does (pve-manager PVE::API2::Cluster, resources:
# guests without VM.Audit on /vms/<vmid> are left out); the others are counted, not named.
# Applying a plan needs 'VM.Migrate' on every guest it moves, including the positive-affinity
# partners that the HA manager moves along (pve-ha-manager PVE::HA::Config,
# get_resource_motion_info).
#
# Pure functions on Perl data; the privilege checks come in as closures, so the daemon (which
# acts as root) and the tests use the same code.

use strict;
use warnings;

=head3 filter_guests($data, $may_see)

Removes from C<$data> (an API answer: plans, capacity and failover results, run records) every
hash in an array that names a guest (C<vmid>) for which C<$may_see-E<gt>($vmid)> is false, and
every plain vmid in the arrays C<unplaced>, C<vmids>, C<guests> and C<apart-from>. Changes
C<$data> in place and returns the number of distinct guests left out.

=cut

my $vmid_list_keys = { map { $_ => 1 } qw(unplaced vmids guests apart-from exclude) };

sub filter_guests {
    my ($data, $may_see) = @_;

    my %hidden;
    my %cache;
    my $visible = sub {
        my ($vmid) = @_;
        my $key = 0 + $vmid; # a copy: never stringify the caller's value
        $cache{$key} //= $may_see->($key) ? 1 : 0;
        $hidden{$key} = 1 if !$cache{$key};
        return $cache{$key};
    };

    my $walk;
    $walk = sub {
        my ($node, $key) = @_;
        if (ref($node) eq 'HASH') {
            $walk->($node->{$_}, $_) for sort keys %$node;
        } elsif (ref($node) eq 'ARRAY') {
            my @keep;
            for my $item (@$node) {
                # match on copies: a regex match would turn the answer's numbers into strings
                my $vmid = ref($item) eq 'HASH' ? $item->{vmid} : undef;
                my $plain = !ref($item) ? $item : undef;
                if (defined($vmid) && !ref($vmid) && $vmid =~ m/^\d+$/) {
                    next if !$visible->($vmid);
                } elsif (defined($plain) && $key && $vmid_list_keys->{$key}
                    && $plain =~ m/^\d+$/) {
                    next if !$visible->($plain);
                }
                $walk->($item, undef);
                push @keep, $item;
            }
            @$node = @keep;
        }
    };
    $walk->($data, undef);

    return scalar(keys %hidden);
}

=head3 affinity_groups($snapshot)

The positive resource-affinity groups of the snapshot's HA rules (enabled rules, merged when
they share a guest, as pve-ha-manager's Rules::ResourceAffinity does): a hash vmid => sorted
list of all vmids of its group (itself included). Guests without a group are not listed.

=cut

sub affinity_groups {
    my ($snapshot) = @_;

    my %parent;
    my $find;
    $find = sub {
        my ($x) = @_;
        $parent{$x} //= $x;
        return $x if $parent{$x} == $x;
        return $parent{$x} = $find->($parent{$x});
    };

    for my $rule (@{ $snapshot->{ha}->{rules} // [] }) {
        next if ($rule->{type} // '') ne 'resource-affinity';
        next if ($rule->{affinity} // '') ne 'positive';
        next if $rule->{disable};
        my @vmids = map { m/^(?:(?:vm|ct):)?(\d+)$/ ? 0 + $1 : () }
            split(/[,;\s]+/, $rule->{resources} // '');
        next if @vmids < 2;
        my $root = $find->($vmids[0]);
        for my $v (@vmids[1 .. $#vmids]) {
            my $r = $find->($v);
            $parent{$r} = $root if $r != $root;
            $root = $find->($root);
        }
    }

    my %members;
    push @{ $members{ $find->($_) } }, 0 + $_ for keys %parent;
    my $res = {};
    for my $list (values %members) {
        my @sorted = sort { $a <=> $b } @$list;
        $res->{$_} = [@sorted] for @sorted;
    }
    return $res;
}

=head3 guests_moved($plan, $snapshot)

Every vmid that running C<$plan> moves: its migrations and, for HA-managed guests, their
positive-affinity partners, which the HA manager moves along. Sorted.

=cut

sub guests_moved {
    my ($plan, $snapshot) = @_;

    my $groups = $snapshot ? affinity_groups($snapshot) : {};
    my %res;
    for my $m (@{ $plan->{migrations} // [] }) {
        my $vmid = 0 + $m->{vmid};
        $res{$vmid} = 1;
        $res{$_} = 1 for @{ $groups->{$vmid} // [] };
    }
    return [sort { $a <=> $b } keys %res];
}

1;
