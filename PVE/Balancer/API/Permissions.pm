package PVE::Balancer::API::Permissions;

# The privilege checks of the /cluster/balance API beyond each method's 'permissions': which
# guests an answer may name (VM.Audit, as GET /cluster/resources), what the caller may do (for
# clients such as the web UI), and what applying a plan needs (Sys.Modify on /, VM.Migrate on
# every guest it moves). The rules on the data are PVE::Balancer::Access; this module asks the
# RPC environment.

use strict;
use warnings;

use PVE::Balancer::Access;

# VM.Audit on a guest, as GET /cluster/resources checks it.
my sub audit_filter {
    my ($rpcenv, $authuser) = @_;

    return sub {
        my ($vmid) = @_;
        return $rpcenv->check($authuser, "/vms/$vmid", ['VM.Audit'], 1);
    };
}

=head3 visible_only($res, $rpcenv, $authuser)

Leaves out of the answer C<$res> the guests the caller may not see (no C<VM.Audit>) and counts
them in C<hidden-guests>. Returns C<$res>.

=cut

sub visible_only {
    my ($res, $rpcenv, $authuser) = @_;

    return $res if ref($res) ne 'HASH';
    my $hidden = PVE::Balancer::Access::filter_guests($res, audit_filter($rpcenv, $authuser));
    $res->{'hidden-guests'} = $hidden if $hidden;
    return $res;
}

=head3 caller_permissions($rpcenv, $authuser, $plan, $snapshot)

What the caller may do, for clients such as the web UI: change the configuration (C<config>:
Sys.Modify on /) and apply (C<apply>: Sys.Modify on /, and VM.Migrate on every guest of
C<$plan> when one is given). C<why> says what is missing, in words an admin can act on; guests
the caller may not see (no VM.Audit) are counted, not named.

=cut

sub caller_permissions {
    my ($rpcenv, $authuser, $plan, $snapshot) = @_;

    my $modify = $rpcenv->check($authuser, '/', ['Sys.Modify'], 1) ? 1 : 0;
    my @missing;
    push @missing, "'Sys.Modify' on '/'" if !$modify;

    my $moved = $plan ? PVE::Balancer::Access::guests_moved($plan, $snapshot) : [];
    my @denied = grep { !$rpcenv->check($authuser, "/vms/$_", ['VM.Migrate'], 1) } @$moved;
    my @named = grep { $rpcenv->check($authuser, "/vms/$_", ['VM.Audit'], 1) } @denied;
    my $unseen = scalar(@denied) - scalar(@named);
    if (@denied) {
        my @shown = map { "/vms/$_" } splice(@named, 0, 5);
        my $more = @named + $unseen ? ' and ' . scalar(@named + $unseen) . ' more' : '';
        push @missing, @shown
            ? "'VM.Migrate' on " . join(', ', @shown) . $more
            : "'VM.Migrate' on $unseen guests you cannot see";
    }

    my $res = { config => $modify, apply => @missing ? 0 : 1 };
    $res->{why} = "Applying needs " . join(' and ', @missing) if @missing;
    return $res;
}

=head3 check_apply($rpcenv, $authuser, $plan, $snapshot)

Dies with the permission error of the first privilege applying C<$plan> needs and the caller
lacks: Sys.Modify on /, VM.Migrate on each guest it moves.

=cut

sub check_apply {
    my ($rpcenv, $authuser, $plan, $snapshot) = @_;

    $rpcenv->check($authuser, '/', ['Sys.Modify']);
    for my $vmid (@{ PVE::Balancer::Access::guests_moved($plan, $snapshot) }) {
        $rpcenv->check($authuser, "/vms/$vmid", ['VM.Migrate']);
    }
}

1;
