package PVE::RPCEnvironment;

# Test double of pve-access-control's PVE::RPCEnvironment (src/PVE/RPCEnvironment.pm):
# privilege checks (check,
# check_any, check_full), the API permission check of a method (check_api2_permissions with
# 'perm' / 'and' / 'or' tests, path templates such as '/vms/{vmid}', user => 'all' and
# 'world'), and the environment singleton inherited from PVE::RESTEnvironment.
#
# Privileges come from set_acl(): { user => { path => [privs] } }. As with PVE ACLs that
# propagate, a privilege on a path also holds on every path below it. As in the real
# permissions(), a privilege on /pool/<pool> also holds on /vms/<vmid> of the pool's members
# (user.cfg 'vms' of the simulated cluster). root@pam has every privilege.

use strict;
use warnings;

use PVE::Exception qw(raise_perm_exc);
use PVE::RESTEnvironment;
use PVE::Tools;

use base qw(PVE::RESTEnvironment);

sub get {
    return PVE::RESTEnvironment->get();
}

sub is_worker {
    return PVE::RESTEnvironment->is_worker();
}

=head3 set_acl($acl)

Test helper: the privileges of each user, C<{ 'alice@pve' => { '/' => ['Sys.Audit'] } }>.

=cut

sub set_acl {
    my ($self, $acl) = @_;
    $self->{acl} = $acl;
    # the cluster's user.cfg: what pvedaemon on any node checks
    my $sim = eval { PVEBalancerTest::SimCluster->current() };
    $sim->{acl} = $acl if $sim;
}

my sub normalize_path {
    my ($path) = @_;

    $path = "/$path";
    $path =~ s!/+!/!g;
    $path =~ s!/$!! if length($path) > 1;
    return $path;
}

sub permissions {
    my ($self, $user, $path) = @_;

    return { map { $_ => 1 } qw(Sys.Audit Sys.Modify Sys.Console VM.Audit VM.Migrate) }
        if $user eq 'root@pam';

    my $acl = $self->{acl}->{$user} // {};
    my $res = {};
    $path = normalize_path($path);
    for my $p (keys %$acl) {
        my $np = normalize_path($p);
        next if $np ne '/' && $path ne $np && index($path, "$np/") != 0;
        $res->{$_} = 1 for @{ $acl->{$p} };
    }
    if ($path =~ m!^/vms/(\d+)$!) {
        my $sim = eval { PVEBalancerTest::SimCluster->current() };
        my $pool = $sim ? ($sim->{usercfg}->{vms} // {})->{$1} : undef;
        if (defined($pool)) {
            my $pool_perm = $self->permissions($user, "/pool/$pool");
            $res->{$_} = 1 for keys %$pool_perm;
        }
    }
    return $res;
}

sub check {
    my ($self, $user, $path, $privs, $noerr) = @_;

    my $perm = $self->permissions($user, $path);
    for my $priv (@$privs) {
        next if $perm->{$priv};
        return undef if $noerr;
        raise_perm_exc("$path, $priv");
    }
    return 1;
}

sub check_any {
    my ($self, $user, $path, $privs, $noerr) = @_;

    my $perm = $self->permissions($user, $path);
    return 1 if grep { $perm->{$_} } @$privs;
    return undef if $noerr;
    raise_perm_exc("$path, " . join('|', @$privs));
}

sub check_full {
    my ($self, $user, $path, $privs, $any, $noerr) = @_;

    return $any
        ? $self->check_any($user, $path, $privs, $noerr)
        : $self->check($user, $path, $privs, $noerr);
}

sub exec_api2_perm_check {
    my ($self, $check, $username, $param, $noerr) = @_;

    my ($test, @rest) = @$check;
    die "no permission test specified" if !$test;

    if ($test eq 'and') {
        $self->exec_api2_perm_check($_, $username, $param) for @rest;
        return 1;
    } elsif ($test eq 'or') {
        for my $sub (@rest) {
            return 1 if $self->exec_api2_perm_check($sub, $username, $param, 1);
        }
        return 0 if $noerr;
        raise_perm_exc();
    } elsif ($test eq 'perm') {
        my ($tmplpath, $privs, %options) = @rest;
        die "missing parameters" if !($tmplpath && $privs);
        if (my $required = $options{require_param}) {
            if (!defined($param->{$required})) {
                return 0 if $noerr;
                raise_perm_exc();
            }
        }
        my $path = PVE::Tools::template_replace($tmplpath, $param);
        return $self->check_full($username, $path, $privs, $options{any}, $noerr);
    }
    die "unknown permission test";
}

sub check_api2_permissions {
    my ($self, $perm, $username, $param) = @_;

    return 1 if !$username && $perm->{user} && $perm->{user} eq 'world';
    raise_perm_exc("user != null") if !$username;
    return 1 if $username eq 'root@pam';
    raise_perm_exc('user != root@pam') if !$perm;
    return 1 if $perm->{user} && $perm->{user} eq 'all';
    return $self->exec_api2_perm_check($perm->{check}, $username, $param) if $perm->{check};
    raise_perm_exc();
}

1;
